"""The results API's routers, each a function of the shared `ReportingContext`."""
