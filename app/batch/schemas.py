from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_OPERATIONS = 200


class BatchOperation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
    path: Annotated[
        str,
        StringConstraints(pattern=r"^/api/v1/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$", max_length=2000),
    ] = Field(description="A path under /api/v1 (with its query string), e.g. /api/v1/leads")
    body: dict[str, Any] | None = None
    # A header value: visible ASCII, spaces and tabs (an entity tag never needs more).
    if_match: (
        Annotated[str, StringConstraints(pattern=r"^[\t\x20-\x7e]*$", max_length=1000)] | None
    ) = Field(None, description='Sent as the If-Match header: the ETag read before, e.g. "3"')


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all_or_none: bool = Field(
        True,
        description="true: one transaction, the first failure rolls everything back and stops; "
        "false: each operation stands alone",
    )
    operations: list[BatchOperation] = Field(min_length=1, max_length=MAX_OPERATIONS)


class BatchResult(BaseModel):
    status: int = Field(description="HTTP status; 424 for operations not run after a failure")
    body: Any = None
    etag: str | None = None
    location: str | None = None


class BatchResponse(BaseModel):
    committed: bool = Field(description="Whether the successful operations' changes were kept")
    results: list[BatchResult]
