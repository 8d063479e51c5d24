"""Services (HackSoft style): the only code that changes jobs. Keyword-only, typed, one module per concern:

- ``jobs``: create (validate → route → quote → hold), quote preview, cancel, retry, remix
- ``submit``: the one paid create per job (keys persisted before the call; refusals requeue or fail over)
- ``poll``: the self-rescheduling poll and what each provider answer does to the job
- ``finalize``: output into our storage, probed, poster, then capture and ``succeeded``
- ``webhooks``: inbound provider webhooks (they only prompt a poll)
- ``lifecycle``: ending a job together with its hold; ``money``: the ledger calls; ``enqueue``: follow-up work

Importing this package imports nothing else, so models, routing and tasks can depend on its modules freely.
"""
