"""The local system (Kafka, PostgreSQL, the services) as processes started by the project itself."""

from shared.stack.processes import StackError
from shared.stack.services import SERVICES, Service
from shared.stack.stack import Stack

__all__ = ["SERVICES", "Service", "Stack", "StackError"]
