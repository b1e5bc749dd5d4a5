"""ContactInformationPublicService v2_21 through zeep."""

from __future__ import annotations

import pytest


@pytest.fixture
def contacts(fresh, client):
    return client("ContactInformationPublicService")


def create(contacts, **fields):
    data = {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.org"} | fields
    return contacts.service.createCulturalContact(contactDataList=[data])


def test_create_get_with_details_filter(contacts):
    r = create(
        contacts,
        addresses=[
            {
                "main": True,
                "billingAddress": True,
                "shippingAddress": False,
                "street1": "1 Navy Way",
                "zipCode": "10001",
                "town": "New York",
                "countryCode": "US",
            }
        ],
        contactCriteria=[
            {"code": "NEWSLETTER", "value": "true"},
            {"code": "FAV_GENRE", "value": "JAZZ"},
        ],
    )
    assert r.statusCode == "success"
    number = r.contacts[0].contactNumber
    general = contacts.service.getContactData(contactNumber=number)
    assert (general.firstName, general.lastName, general.email) == (
        "Grace",
        "Hopper",
        "grace@example.org",
    )
    assert general.addresses == [] and general.contactCriteria == []  # not asked for
    full = contacts.service.getContactData(
        contactNumber=number, details=["GENERAL", "ADDRESSES", "CRITERIA"]
    )
    (address,) = full.addresses
    assert (
        address.main
        and address.billingAddress
        and not address.shippingAddress
        and address.town == "New York"
    )
    assert {(c.code, c.value) for c in full.contactCriteria} == {
        ("NEWSLETTER", "true"),
        ("FAV_GENRE", "JAZZ"),
    }
    only_addresses = contacts.service.getContactData(contactNumber=number, details=["ADDRESSES"])
    assert only_addresses.firstName is None and len(only_addresses.addresses) == 1
    assert (
        contacts.service.getContactData(contactNumber=number, details=["NOPE"]).statusCode
        == "error.request.invalid"
    )


@pytest.mark.parametrize(
    "fields, status",
    [
        ({"email": "not-an-email"}, "error.contact.email"),
        ({"email": "a@b"}, "error.contact.email"),
        ({"firstName": "  "}, "error.contact.name"),
        ({"lastName": None}, "error.contact.name"),
        ({"contactCriteria": [{"code": "SHOE_SIZE", "value": "42"}]}, "error.contact.criterion"),
        (
            {"contactCriteria": [{"code": "NEWSLETTER", "value": "maybe"}]},
            "error.contact.criterion_value",
        ),
        (
            {"contactCriteria": [{"code": "FAV_GENRE", "value": "POLKA"}]},
            "error.contact.criterion_value",
        ),
    ],
)
def test_validation_errors_create_nothing(contacts, fields, status):
    r = create(contacts, **fields)
    assert r.statusCode == status and r.statusDetail
    assert (
        contacts.service.searchContacts(lastName=fields.get("lastName") or "Hopper").contacts == []
    )


def test_update_search_delete(contacts):
    number = create(contacts).contacts[0].contactNumber
    r = contacts.service.updateContact(
        contactNumber=number, contactData={"email": "g.hopper@example.org"}
    )
    assert (
        r.statusCode == "success" and r.email == "g.hopper@example.org" and r.firstName == "Grace"
    )
    assert (
        contacts.service.updateContact(
            contactNumber=number, contactData={"email": "bad"}
        ).statusCode
        == "error.contact.email"
    )
    assert [
        c.contactNumber
        for c in contacts.service.searchContacts(email="G.HOPPER@example.org").contacts
    ] == [number]
    assert number in [
        c.contactNumber for c in contacts.service.searchContacts(lastName="hop").contacts
    ]
    assert contacts.service.searchContacts(lastName="%").contacts == []  # no wildcard injection
    assert contacts.service.searchContacts().statusCode == "error.request.invalid"
    assert contacts.service.deleteContact(contactNumber=number).statusCode == "success"
    assert (
        contacts.service.getContactData(contactNumber=number).statusCode == "error.contact.unknown"
    )
    assert contacts.service.searchContacts(lastName="Hopper").contacts == []
    assert (
        contacts.service.deleteContact(contactNumber=number).statusCode == "error.contact.unknown"
    )
    assert (
        contacts.service.updateContact(
            contactNumber=number, contactData={"firstName": "X"}
        ).statusCode
        == "error.contact.unknown"
    )


def test_addresses_one_main_and_delete(contacts):
    number = create(contacts).contacts[0].contactNumber
    first = contacts.service.createOrUpdateAddress(
        contactNumber=number, address={"main": True, "town": "Geneva", "countryCode": "CH"}
    )
    assert first.statusCode == "success"
    second = contacts.service.createOrUpdateAddress(
        contactNumber=number, address={"main": True, "town": "Bern", "countryCode": "CH"}
    )
    full = contacts.service.getContactData(contactNumber=number, details=["ADDRESSES"])
    mains = [a.town for a in full.addresses if a.main]
    assert mains == ["Bern"]
    aid = first.address.contactAddressId
    moved = contacts.service.createOrUpdateAddress(
        contactNumber=number,
        address={"contactAddressId": aid, "main": False, "town": "Lausanne", "countryCode": "CH"},
    )
    assert moved.address.town == "Lausanne"
    assert (
        contacts.service.createOrUpdateAddress(
            contactNumber=number, address={"town": "X", "countryCode": "Switzerland"}
        ).statusCode
        == "error.request.invalid"
    )
    assert (
        contacts.service.deleteAddress(
            contactNumber=number, contactAddressId=second.address.contactAddressId
        ).statusCode
        == "success"
    )
    assert (
        contacts.service.deleteAddress(
            contactNumber=number, contactAddressId=second.address.contactAddressId
        ).statusCode
        == "error.contact.address"
    )
    assert [
        a.town
        for a in contacts.service.getContactData(
            contactNumber=number, details=["ADDRESSES"]
        ).addresses
    ] == ["Lausanne"]


def test_criteria(contacts):
    number = create(contacts).contacts[0].contactNumber
    r = contacts.service.setContactCriteria(
        contactNumber=number, contactCriteria=[{"code": "NEWSLETTER", "value": "TRUE"}]
    )
    assert r.statusCode == "success" and [(c.code, c.value) for c in r.contactCriteria] == [
        ("NEWSLETTER", "true")
    ]
    r = contacts.service.setContactCriteria(
        contactNumber=number, contactCriteria=[{"code": "FAV_GENRE", "value": "OPERA"}]
    )
    assert {c.code for c in r.contactCriteria} == {"NEWSLETTER", "FAV_GENRE"}
    assert (
        contacts.service.setContactCriteria(
            contactNumber=number, contactCriteria=[{"code": "X", "value": "1"}]
        ).statusCode
        == "error.contact.criterion"
    )


def test_dataset_contacts_are_there(contacts):
    found = contacts.service.getContactData(contactNumber=1000001, details=["CRITERIA"])
    assert found.statusCode == "success" and found.contactCriteria


def test_update_contact_refuses_addresses_and_criteria(contacts):
    number = create(contacts).contacts[0].contactNumber
    r = contacts.service.updateContact(
        contactNumber=number,
        contactData={"contactCriteria": [{"code": "NEWSLETTER", "value": "true"}]},
    )
    assert r.statusCode == "error.request.invalid"
