"""The one refusal of a whole file: a wrong structure or a file that is not a usable form."""

from __future__ import annotations


class FormRefused(Exception):  # noqa: N818 - a refusal, not a fault of the program
    """The file is refused whole, before any row is imported; ``message`` names column and cell.

    ``code`` is ``form_structure`` for a wrong form and ``bad_file`` for a file that is not a
    readable workbook or CSV; ``status`` is the HTTP status the import endpoint answers.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "form_structure",
        column: str | None = None,
        status: int = 422,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.column = column
        self.status = status

    def body(self) -> dict[str, object]:
        """The JSON error body of CONTRACT §2."""
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.column is not None:
            error["column"] = self.column
        return {"error": error}


def bad_file(message: str, status: int = 422) -> FormRefused:
    """A file that is not a usable workbook or CSV."""
    return FormRefused(message, code="bad_file", status=status)
