from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    """Token request (RFC 6749 section 4). Fields depend on ``grant_type``."""

    model_config = ConfigDict(extra="ignore")

    grant_type: str | None = Field(
        None, description="client_credentials, password, refresh_token or authorization_code"
    )
    scope: str | None = Field(None, description="Space-separated scopes; default: all allowed")
    client_id: str | None = None
    client_secret: str | None = Field(None, description="Or use HTTP Basic authentication")
    username: str | None = None
    password: str | None = None
    refresh_token: str | None = None
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str
    refresh_token: str | None = None


class TokenActionRequest(BaseModel):
    """Revocation (RFC 7009) and introspection (RFC 7662) requests."""

    model_config = ConfigDict(extra="ignore")

    token: str | None = None
    token_type_hint: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


class IntrospectionResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    active: bool


class LoginForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: str = ""
    password: str = ""
    next: str = "/"
