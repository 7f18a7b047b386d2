"""What every app's API shares: errors and their one handler, scope permission, rate limits, body reader, schema.

Layer 1: nothing here imports an app. Apps plug in by duck typing: `request.auth` is a *grant* (an API key
or a member session's grant, see `Grant`) and views name the scope they need in `required_scope`.
"""
