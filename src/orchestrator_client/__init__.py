"""The operations clients run on campaigns (start, retry, status, list, cancel, batch): the CLI,
the REST gateway and the demo share them."""
