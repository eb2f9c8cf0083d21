"""Thin Python client for Proxima (DESIGN.md section 4 QuerySpec over HTTP)."""
from .client import Client, ProximaError, AuthenticationError, QueryError, UnavailableError, DeadlineExceededError

__all__ = ["Client", "ProximaError", "AuthenticationError", "QueryError", "UnavailableError", "DeadlineExceededError"]
__version__ = "0.1.0"
