"""What one change event did: the operations of the change model (pure, used by diff and store)."""

from enum import StrEnum


class ChangeOp(StrEnum):
    CREATE = "create"
    MODIFY = "modify"
    ADD_VALUE = "add-value"
    REMOVE_VALUE = "remove-value"
    MOVE = "move"
    RENAME = "rename"
    DELETE = "delete"
    UNDELETE = "undelete"
