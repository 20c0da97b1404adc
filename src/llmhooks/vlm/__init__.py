"""Vision-language calls: an LLM call whose input holds images is also a VLM inference.

    from llmhooks.vlm import scan_images, vision_llm_run

Producers (the ``LLM`` facade, ``instrument_openai``/``instrument_anthropic`` and the
realtime integration) open their LLM runs through ``vision_llm_run``; see
``docs/realtime.md``.
"""

from __future__ import annotations

from llmhooks.vlm.images import IMAGE_PART_TYPES, Images, base64_size, scan_images
from llmhooks.vlm.runs import VisionLLMRun, VLMRun, vision_llm_run

__all__ = [
    "IMAGE_PART_TYPES",
    "Images",
    "VLMRun",
    "VisionLLMRun",
    "base64_size",
    "scan_images",
    "vision_llm_run",
]
