"""Every OpenTelemetry name llmhooks writes, in one table, with the conventions' version.

The GenAI semantic conventions are still "Development" and move often (attribute and
metric names changed twice in 2026). No maintained constants package covers their new
home, so the strings are defined here, once: a rename upstream is an edit to this file.

    from llmhooks.handlers.otel import conventions as C
    span.set_attribute(C.USAGE_INPUT_TOKENS, 12)

Names under ``llmhooks.`` are ours, for what the conventions do not cover (graph nodes,
chains, estimated usage, stream stopped early).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CONVENTIONS",
    "CONVENTIONS_VERSION",
    "DURATION_BUCKETS",
    "SCHEMA_URL",
    "TOKEN_BUCKETS",
]

CONVENTIONS: Final = "open-telemetry/semantic-conventions-genai"
CONVENTIONS_VERSION: Final = "1.42.0"  # checked against the repository's main branch, 2026-11
SCHEMA_URL: Final = "https://opentelemetry.io/schemas/gen-ai/1.42.0"
INSTRUMENTATION_NAME: Final = "llmhooks"

# -- operations (gen_ai.operation.name values) and span names ------------------------------
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_RETRIEVAL: Final = "retrieval"
OP_GENERATE_CONTENT: Final = "generate_content"  # other instrumentations' inference spans
OP_EMBEDDINGS: Final = "embeddings"
# span names: "{operation} {target}" (the conventions' form); ours for chains and nodes
SPAN_CHAIN: Final = "chain"
SPAN_NODE: Final = "graph_node"
SPAN_MCP_SESSION: Final = "mcp.session"
MCP_TOOLS_CALL: Final = "tools/call"  # mcp.method.name of a tool call; also its span name prefix

# -- attributes ----------------------------------------------------------------------------
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_STREAM: Final = "gen_ai.request.stream"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_TOP_K: Final = "gen_ai.request.top_k"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"  # includes cached input tokens
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"  # includes reasoning tokens
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_TYPE: Final = "gen_ai.tool.type"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
AGENT_NAME: Final = "gen_ai.agent.name"
DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"
RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"
TOKEN_TYPE: Final = "gen_ai.token.type"  # metric attribute: "input" | "output"
ERROR_TYPE: Final = "error.type"
ERROR_TYPE_OTHER: Final = "_OTHER"
MCP_METHOD_NAME: Final = "mcp.method.name"
NETWORK_TRANSPORT: Final = "network.transport"
MCP_TOOL_ERROR: Final = "tool_error"  # error.type of a tool result flagged is_error

TOOL_TYPE_FUNCTION: Final = "function"
TOOL_TYPE_EXTENSION: Final = "extension"  # executed by an MCP server, outside this process
TOKEN_INPUT: Final = "input"
TOKEN_OUTPUT: Final = "output"

# ours: what the conventions do not name
LLMHOOKS_RUN_ID: Final = "llmhooks.run_id"  # only when the span id could not be the run id
LLMHOOKS_TRACE_ID: Final = "llmhooks.trace_id"  # only when the span sits in another trace
LLMHOOKS_USAGE_ESTIMATED: Final = "llmhooks.usage.estimated"
LLMHOOKS_INCOMPLETE: Final = "llmhooks.incomplete"  # a stream the consumer stopped early
LLMHOOKS_CANCELLED: Final = "llmhooks.cancelled"
LLMHOOKS_COST_USD: Final = "llmhooks.cost.usd"
LLMHOOKS_ERROR_CODE: Final = "llmhooks.error.code"
LLMHOOKS_USER_ID: Final = "llmhooks.user_id"  # only with capture_user_id=True
LLMHOOKS_TAGS: Final = "llmhooks.tags"
LLMHOOKS_AGENT_STEPS: Final = "llmhooks.agent.steps"
LLMHOOKS_AGENT_STEP_EVENT: Final = "llmhooks.agent.step"  # span event per agent step
LLMHOOKS_STEP: Final = "llmhooks.step"
LLMHOOKS_ACTION: Final = "llmhooks.action"
LLMHOOKS_ACTION_INPUT: Final = "llmhooks.action_input"  # content: only when captured
LLMHOOKS_OBSERVATION: Final = "llmhooks.observation"  # content: only when captured
LLMHOOKS_CHAIN_NAME: Final = "llmhooks.chain.name"
LLMHOOKS_NODE_ID: Final = "llmhooks.graph.node.id"
LLMHOOKS_NODE_TYPE: Final = "llmhooks.graph.node.type"
LLMHOOKS_NODE_STEP: Final = "llmhooks.graph.step"
LLMHOOKS_DOCUMENTS_COUNT: Final = "llmhooks.retrieval.documents.count"
LLMHOOKS_MCP_SERVER: Final = "llmhooks.mcp.server"
LLMHOOKS_MCP_TOOLS_COUNT: Final = "llmhooks.mcp.tools.count"
LLMHOOKS_MCP_REASON: Final = "llmhooks.mcp.disconnect.reason"
LLMHOOKS_MCP_PROGRESS_EVENT: Final = "llmhooks.mcp.progress"
LLMHOOKS_MCP_LOG_EVENT: Final = "llmhooks.mcp.log"
LLMHOOKS_PROGRESS: Final = "llmhooks.progress"
LLMHOOKS_PROGRESS_TOTAL: Final = "llmhooks.progress.total"
LLMHOOKS_LOG_LEVEL: Final = "llmhooks.log.level"
PENDING_CONTEXT_KEY: Final = "llmhooks.pending_llm_run"  # an OpenTelemetry context key, not exported
LLMHOOKS_LOG_LOGGER: Final = "llmhooks.log.logger"
LLMHOOKS_LOG_DATA: Final = "llmhooks.log.data"  # content: only when captured
LLMHOOKS_PROGRESS_MESSAGE: Final = "llmhooks.progress.message"  # content: only when captured

# -- content capture -------------------------------------------------------------------------
CAPTURE_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
CAPTURE_NONE: Final = "NO_CONTENT"
CAPTURE_SPAN: Final = "SPAN_ONLY"
CAPTURE_EVENT: Final = "EVENT_ONLY"
CAPTURE_BOTH: Final = "SPAN_AND_EVENT"
CAPTURE_MODES: Final = (CAPTURE_NONE, CAPTURE_SPAN, CAPTURE_EVENT, CAPTURE_BOTH)
INFERENCE_DETAILS_EVENT: Final = "gen_ai.client.inference.operation.details"

# -- metrics -----------------------------------------------------------------------------------
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_MCP_OPERATION_DURATION: Final = "mcp.client.operation.duration"
METRIC_MCP_SESSION_DURATION: Final = "mcp.client.session.duration"
UNIT_TOKEN: Final = "{token}"
UNIT_SECONDS: Final = "s"
TOKEN_BUCKETS: Final = tuple(float(4**i) for i in range(14))  # 1, 4, 16, ..., 67108864
DURATION_BUCKETS: Final = tuple(round(0.01 * 2**i, 2) for i in range(14))  # 0.01, 0.02, ..., 81.92

# llmhooks provider names -> gen_ai.provider.name well-known values (others pass through)
PROVIDER_NAMES: Final = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "google": "gcp.gen_ai",
    "vertex": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "groq": "groq",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
}
# providers whose API takes system instructions apart from the chat history: their system
# messages are gen_ai.system_instructions; elsewhere they stay in gen_ai.input.messages
SEPARATE_SYSTEM_PROVIDERS: Final = frozenset(
    {"anthropic", "aws.bedrock", "gcp.gemini", "gcp.gen_ai", "gcp.vertex_ai"}
)
# metadata keys a user sets to name the provider of an agent run that makes no model call itself
AGENT_PROVIDER_KEYS: Final = ("provider", PROVIDER_NAME)
# request parameters (``LLMStartEvent.params`` keys) -> attributes
REQUEST_PARAMS: Final = {
    "top_p": REQUEST_TOP_P,
    "top_k": REQUEST_TOP_K,
    "seed": REQUEST_SEED,
    "frequency_penalty": REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": REQUEST_PRESENCE_PENALTY,
    "stop": REQUEST_STOP_SEQUENCES,
    "stop_sequences": REQUEST_STOP_SEQUENCES,
    "n": REQUEST_CHOICE_COUNT,
}
# metadata keys a user sets to give the conversation id (the conventions forbid inventing one)
CONVERSATION_KEYS: Final = ("conversation_id", CONVERSATION_ID)
