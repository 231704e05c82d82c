"""Authentication and authorization: tokens, API keys, the caller and team scopes."""
