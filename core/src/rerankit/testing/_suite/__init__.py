"""The contract suite's parts: one mixin of tests per concern, on a shared base.

`rerankit.testing.ProviderContract` combines them; import that, not these modules.
"""
