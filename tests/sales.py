"""Helpers for tests that buy seats through the public SOAP API."""

from __future__ import annotations

from typing import Any


def attribution(
    performance_id: int,
    quantity: int = 1,
    seat_category_id: int | None = 4001,
    tariff: int = 101,
    **extra: Any,
) -> dict:
    a = {"performanceId": performance_id, "audienceSubCategoryId": tariff, "quantity": quantity}
    if seat_category_id is not None:
        a["seatCategoryId"] = seat_category_id
    a.update(extra)
    return a


def order(facade: Any, *attributions: dict, pos: int = 2001, **kw: Any) -> Any:
    return facade.service.createOrUpdateOrder(
        pointOfSalesId=pos,
        singleEntryAttributionOperations=[{"operationAttributions": list(attributions)}]
        if attributions
        else None,
        **kw,
    )


def close(service: Any, data: Any, method: int = 501, **kw: Any) -> Any:
    return service.service.closeOrder(
        orderId=data.orderId,
        generateBarCodes=True,
        payments=[{"paymentMethodId": method, "amount": data.totalAmount}],
        totalAmount=data.totalAmount,
        **kw,
    )


def available(av: Any, performance_id: int, category: int = 4001, pos: int = 2001) -> int:
    res = av.service.getPerformanceAvailability(
        pointOfSalesId=pos, performanceIds=[performance_id], seatCategoryIds=[category]
    )
    assert res.statusCode == "success", res
    return res.performanceAvailabilities[0].seatCategoryAvailabilities[0].available
