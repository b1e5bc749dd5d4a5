"""Hand-written JAX-WS style SOAP requests, as a partner's own client sends them."""

from __future__ import annotations

from typing import Any

import requests
from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"


def security_header(login: str, password: str, style: str = "full") -> str:
    if style == "none":
        return ""
    if style == "full":  # mustUnderstand, wsu:Id, Type=#PasswordText
        return (
            f'<soapenv:Header><wsse:Security soapenv:mustUnderstand="1" xmlns:wsse="{WSSE}" '
            f'xmlns:wsu="{WSU}"><wsse:UsernameToken wsu:Id="UsernameToken-1">'
            f"<wsse:Username>{login}</wsse:Username>"
            f'<wsse:Password Type="{PASSWORD_TEXT}">{password}</wsse:Password>'
            "</wsse:UsernameToken></wsse:Security></soapenv:Header>"
        )
    # "bare": no mustUnderstand, no wsu:Id, no Type
    return (
        f'<soapenv:Header><wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
        f"<wsse:Username>{login}</wsse:Username><wsse:Password>{password}</wsse:Password>"
        "</wsse:UsernameToken></wsse:Security></soapenv:Header>"
    )


def envelope(
    tns: str,
    operation: str,
    children: str = "",
    login: tuple[str, str] = ("DEMO_PARTNER1", "partner1-secret"),
    style: str = "full",
    trailing_slash: bool = False,
) -> str:
    ns = tns + ("/" if trailing_slash else "")
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:v1="{ns}">'
        f"{security_header(*login, style=style)}"
        f"<soapenv:Body><v1:{operation}>{children}</v1:{operation}></soapenv:Body></soapenv:Envelope>"
    )


def post(
    url: str, body: str | bytes, content_type: str = "text/xml; charset=utf-8"
) -> requests.Response:
    data = body.encode() if isinstance(body, str) else body
    return requests.post(
        url, data=data, headers={"Content-Type": content_type, "SOAPAction": '""'}, timeout=30
    )


def parse(response: requests.Response) -> Any:
    return etree.fromstring(response.content)


def fault(response: requests.Response) -> tuple[str, str]:
    """(faultcode without prefix, faultstring) of a SOAP 1.1 fault reply."""
    assert response.status_code == 500, response.text
    assert response.headers["Content-Type"].startswith("text/xml"), response.headers
    root = parse(response)
    node = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert node is not None, response.text
    code = node.findtext("faultcode")
    return code.split(":", 1)[-1], node.findtext("faultstring")


def result(response: requests.Response) -> Any:
    """The single result element inside {tns}opResponse."""
    assert response.status_code == 200, response.text
    body = parse(response).find(f"{{{SOAP_ENV}}}Body")
    (wrapper,) = list(body)
    (res,) = list(wrapper)
    return res
