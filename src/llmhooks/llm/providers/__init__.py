"""LLM providers for the facade: ``base`` (the interface), ``openai``, ``anthropic``.

The SDK modules are imported only when their provider is chosen.
"""
