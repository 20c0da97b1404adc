"""Producers built on real libraries; each module imports its library and needs its extra.

- ``openai``: ``instrument_openai`` / ``uninstrument_openai`` (``pip install 'llmhooks[openai]'``)
- ``anthropic``: ``instrument_anthropic`` / ``uninstrument_anthropic`` (``llmhooks[anthropic]``)
- ``mcp``: ``MCPClient`` (``llmhooks[mcp]``); ``langchain``: the LangChain/LangGraph bridge

Nothing is imported here, so ``import llmhooks.integrations`` loads no SDK.
"""
