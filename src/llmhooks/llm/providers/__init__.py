"""What an LLM provider of the facade is (``base``): the interface, and the SDK base class.

The providers themselves live with their SDK's integration
(``llmhooks.integrations.openai.provider``, ``llmhooks.integrations.anthropic.provider``)
and are imported only when chosen; ``llm/offline.py`` is the one provider without an SDK.
"""
