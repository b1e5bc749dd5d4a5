"""The store boundary: schema, engine, transactions, dataset loading."""

from mock_server.store.store import Store, StoreError

__all__ = ["Store", "StoreError"]
