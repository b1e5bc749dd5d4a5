"""Domain errors. Each carries the S-360 status code it answers with.

Business errors (:class:`S360Error`) become a result whose ``statusCode`` is
``status_code`` (S-360 does not use SOAP faults for them). Caller faults
(:class:`ClientFault`) become a SOAP 1.1 Fault whose ``faultcode`` is
``fault_code``. The mapping to the wire lives in ONE place:
``mock_server/soap/faults.py``. Every code is listed in docs/service-reference.md.
"""

from __future__ import annotations


class S360Error(Exception):
    """A business error answered as a result with a non-success status code."""

    status_code = "error.internal"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(S360Error):
    """A parameter has a value S-360 refuses (negative quantity, empty list, bad date)."""

    status_code = "error.request.invalid"


class UnknownPointOfSales(S360Error):
    """The pointOfSalesId is not the calling operator's point of sales."""

    status_code = "error.pos.unknown"


class UnknownSeason(S360Error):
    """No season with this code."""

    status_code = "error.season.unknown"


class UnknownProduct(S360Error):
    """No (exported) product with this id or code."""

    status_code = "error.product.unknown"


class UnknownEvent(S360Error):
    """No event with this id."""

    status_code = "error.event.unknown"


class UnknownPerformance(S360Error):
    """No performance with this id."""

    status_code = "error.performance.unknown"


class UnknownSeatCategory(S360Error):
    """No seat category with this id in the venue of the performance."""

    status_code = "error.seatcategory.unknown"


class UnknownSeat(S360Error):
    """No physical seat with this id in the venue of the performance (or of another category)."""

    status_code = "error.seat.unknown"


class ClientFault(Exception):
    """The request itself is at fault: answered as a SOAP Fault, HTTP 500."""

    fault_code = "Client"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationFailed(ClientFault):
    fault_code = "Client.Authentication"


class MalformedRequest(ClientFault):
    fault_code = "Client.MalformedRequest"


class UnknownOperation(ClientFault):
    fault_code = "Client.UnknownOperation"


class ValidationFault(ClientFault):
    fault_code = "Client.ValidationError"


# Every business status code the simulator can answer, for the docs and the tests.
def all_status_codes() -> dict[str, str]:
    codes: dict[str, str] = {}
    stack: list[type[S360Error]] = [S360Error]
    while stack:
        cls = stack.pop()
        codes[cls.status_code] = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
        stack.extend(cls.__subclasses__())
    return codes


# --- contacts -------------------------------------------------------------------------
class UnknownContact(S360Error):
    """No (live) contact with this contact number."""

    status_code = "error.contact.unknown"


class InvalidContactName(S360Error):
    """firstName and lastName are mandatory and not blank."""

    status_code = "error.contact.name"


class InvalidEmail(S360Error):
    """The email address is malformed."""

    status_code = "error.contact.email"


class UnknownCriterion(S360Error):
    """No contact criterion with this code in the institution's setup."""

    status_code = "error.contact.criterion"


class InvalidCriterionValue(S360Error):
    """The value is not allowed for this criterion (BOOLEAN: true/false; CHOICE: its values)."""

    status_code = "error.contact.criterion_value"


class UnknownAddress(S360Error):
    """No address with this id on this contact."""

    status_code = "error.contact.address"


# --- orders ---------------------------------------------------------------------------
class NotAvailable(S360Error):
    """Not enough free seats (or the requested seat is taken)."""

    status_code = "error.order.availability"


class NotOnSale(S360Error):
    """The performance is not on sale for this point of sales now (state or sales period)."""

    status_code = "error.order.not_on_sale"


class TooManySeats(S360Error):
    """More seats of one performance in one order than the point of sales allows."""

    status_code = "error.order.max_seats"


class UnknownOrder(S360Error):
    """No order with this id for this operator (other partners' orders are unknown too)."""

    status_code = "error.order.unknown"


class OrderNotOpen(S360Error):
    """The order cannot be changed or closed in its current state."""

    status_code = "error.order.state"


class OrderExpired(S360Error):
    """The order was abandoned: it was not closed within orderAbandonDelay."""

    status_code = "error.order.expired"


class OrderCancelled(S360Error):
    """The order was cancelled."""

    status_code = "error.order.cancelled"


class EmptyOrder(S360Error):
    """The order holds no seat: nothing to close."""

    status_code = "error.order.empty"


class WrongAmount(S360Error):
    """totalAmount or the payments do not equal the order total."""

    status_code = "error.order.amount"


class WrongPaymentMethod(S360Error):
    """Partners pay on their point of sales' pending-account payment method only."""

    status_code = "error.payment.method"


class UnknownTariff(S360Error):
    """No price for this seat category, audience sub-category and price level."""

    status_code = "error.order.tariff"


class UnknownOperationOrMovement(S360Error):
    """An operation or movement id that is not part of this order."""

    status_code = "error.order.operation"


class MinQuantity(S360Error):
    """Fewer places than the product's minQuantity."""

    status_code = "error.order.min_quantity"
