"""The hub: coordination for many agents on top of the bridge (messages and the wake pager, the
event log, tokens, the HTTP API and dashboard). It drives panes only through :class:`bridge.api.Bridge`,
as a user's script would; the bridge knows nothing of it.
"""
