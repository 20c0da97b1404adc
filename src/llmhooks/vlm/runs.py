"""A vision-language inference: a ``VLMRun`` child of the LLM run whose request holds images.

    with vision_llm_run(provider="openai", model="gpt-4o", messages=msgs, callbacks=cb) as run:
        run.finish(response="A cat.", input_tokens=900, output_tokens=3)

With images in ``msgs`` this emits ``llm.start``, ``vlm.inference_start``
(``frames_count`` = images, ``image_bytes``), then ``vlm.inference_completed`` (text,
latency, tokens, ``frames_processed``) or ``vlm.error``, then ``llm.end`` or
``llm.error``: the VLM run is a child of the LLM run and always ends first, once
(handlers that take only VLM events get them too). Without images, or with nobody
taking VLM events, it is exactly ``llm_run``. The start event's messages never carry
image data (see ``images.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from llmhooks.core import CallbackManager, LLMRun, Run, llm_run
from llmhooks.core.context import CallbacksLike, manager_for
from llmhooks.events import VLMErrorEvent, VLMInferenceCompletedEvent, VLMInferenceStartEvent, new_run_id
from llmhooks.vlm.images import Images, scan_images

__all__ = ["VLMRun", "VisionLLMRun", "vision_llm_run"]

_ERROR_FIELDS = ("error_code", "is_recoverable", "cancelled")
_VLM_EVENTS = (VLMInferenceStartEvent, VLMInferenceCompletedEvent, VLMErrorEvent)


def _error_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """What an LLM error's fields say that a VLM error event also holds."""
    return {k: fields[k] for k in _ERROR_FIELDS if k in fields}


class VLMRun(Run):
    """A VLM inference run: ``vlm.inference_start``, then ``vlm.inference_completed`` or ``vlm.error``."""

    __slots__ = ("inference_id", "model", "provider")
    inference_id: str | None
    provider: str | None
    model: str | None

    start_cls = VLMInferenceStartEvent
    end_cls = VLMInferenceCompletedEvent
    error_cls = VLMErrorEvent
    family = ("inference_id", "provider", "model")
    _classifies = True  # its error events carry error_code and is_recoverable


class VisionLLMRun:
    """An LLM run that is also a VLM inference; behaves as the LLM run it wraps.

    Entering, starting, finishing and failing drive both runs (the VLM run nested
    inside); everything else (``token``, ``text``, ``run_id``...) is the LLM run's.
    """

    __slots__ = ("_images", "_llm", "_manager", "_model", "_provider", "_vlm")
    is_recording: ClassVar[bool] = True  # the VLM run records even when the LLM run has no taker

    def __init__(
        self,
        llm: LLMRun,
        images: Images,
        provider: str | None,
        model: str | None,
        manager: CallbackManager,
    ) -> None:
        self._llm = llm
        self._images = images
        self._provider = provider
        self._model = model
        self._manager = manager
        self._vlm: VLMRun | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)

    @property
    def manager(self) -> CallbackManager:
        """The manager the runs emit through."""
        return self._manager

    @property
    def done(self) -> bool:
        """True once the LLM run (or, when it has no taker, the VLM run) has ended."""
        if self._llm.is_recording:
            return self._llm.done
        return self._vlm is not None and self._vlm.done

    def __repr__(self) -> str:
        return f"<VisionLLMRun {self._llm.run_id} frames={self._images.count}>"

    @property
    def vlm(self) -> VLMRun | None:
        """The VLM run, once started."""
        return self._vlm

    # the VLM run

    def _new_vlm(self) -> VLMRun:
        llm = self._llm
        inference_id = new_run_id()
        self._vlm = VLMRun(
            self._manager,
            {"inference_id": inference_id, "provider": self._provider, "model": self._model},
            {"frames_count": self._images.count, "image_bytes": self._images.image_bytes},
            inference_id,
            llm.run_id,
            llm.trace_id,
        )
        return self._vlm

    def _completed(self, fields: dict[str, Any]) -> dict[str, Any]:
        text = fields.get("response")
        return {
            "text": text if isinstance(text, str) else self._llm.text,
            "input_tokens": fields.get("input_tokens"),
            "output_tokens": fields.get("output_tokens"),
            "frames_processed": self._images.count,
        }

    def _open_vlm(self) -> bool:
        return self._vlm is not None and not self._vlm.done

    # sync lifecycle

    def __enter__(self) -> VisionLLMRun:
        self._llm.__enter__()
        try:
            self._new_vlm().start()
        except BaseException as exc:  # a handler refused the inference (Abort): end the LLM run too
            self._llm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self._close_vlm(exc)
        finally:
            self._llm.__exit__(exc_type, exc, tb)

    def start(self) -> VisionLLMRun:
        """Start both runs without making either current (see ``Run.start``)."""
        self._llm.start()
        try:
            self._new_vlm().start()
        except BaseException as exc:
            if not self._llm.done:
                self._llm.error(exc, cancelled=not isinstance(exc, Exception))
            raise
        return self

    def _close_vlm(self, exc: BaseException | None) -> None:
        vlm = self._vlm
        if vlm is None or vlm.done:
            return
        if exc is None or isinstance(exc, GeneratorExit):  # GeneratorExit: a stream stopped early
            vlm.finish(**self._completed({}))
        else:
            vlm.error(exc, cancelled=not isinstance(exc, Exception))

    def finish(self, **fields: Any) -> None:
        """End the VLM run with the answer's text and tokens, then the LLM run with ``fields``."""
        if self._open_vlm():
            cast(VLMRun, self._vlm).finish(**self._completed(fields))
        self._llm.finish(**fields)

    def error(self, error: BaseException | str, **fields: Any) -> None:
        """Fail the VLM run, then the LLM run."""
        if self._open_vlm():
            cast(VLMRun, self._vlm).error(error, **_error_fields(fields))
        self._llm.error(error, **fields)

    # async lifecycle

    async def __aenter__(self) -> VisionLLMRun:
        await self._llm.__aenter__()
        try:
            await self._new_vlm().astart()
        except BaseException as exc:
            await self._llm.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            vlm = self._vlm
            if vlm is not None and not vlm.done:
                if exc is None or isinstance(exc, GeneratorExit):
                    await vlm.afinish(**self._completed({}))
                else:
                    await vlm.aerror(exc, cancelled=not isinstance(exc, Exception))
        finally:
            await self._llm.__aexit__(exc_type, exc, tb)

    async def astart(self) -> VisionLLMRun:
        """Async ``start``."""
        await self._llm.astart()
        try:
            await self._new_vlm().astart()
        except BaseException as exc:
            if not self._llm.done:
                await self._llm.aerror(exc, cancelled=not isinstance(exc, Exception))
            raise
        return self

    async def afinish(self, **fields: Any) -> None:
        """Async ``finish``."""
        if self._open_vlm():
            await cast(VLMRun, self._vlm).afinish(**self._completed(fields))
        await self._llm.afinish(**fields)

    async def aerror(self, error: BaseException | str, **fields: Any) -> None:
        """Async ``error``."""
        if self._open_vlm():
            await cast(VLMRun, self._vlm).aerror(error, **_error_fields(fields))
        await self._llm.aerror(error, **fields)


def vision_llm_run(
    *,
    provider: str | None = None,
    model: str | None = None,
    messages: list[Any] | None = None,
    prompt: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    tools: list[Any] | None = None,
    streaming: bool = False,
    params: dict[str, Any] | None = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> LLMRun:
    """``llm_run(...)``, and also a VLM inference when ``messages`` hold images (see the module)."""
    messages, images = scan_images(messages)
    run = llm_run(
        provider=provider,
        model=model,
        messages=messages,
        prompt=prompt,
        temperature=temperature,
        max_tokens=max_tokens,
        tools=tools,
        streaming=streaming,
        params=params,
        callbacks=callbacks,
        run_id=run_id,
        parent_run_id=parent_run_id,
        trace_id=trace_id,
        tags=tags,
        metadata=metadata,
    )
    if images is None:
        return run
    manager = run.manager if run.is_recording else manager_for(callbacks)
    if manager is None or not any(manager.wants(cls) for cls in _VLM_EVENTS):
        return run
    return cast(LLMRun, VisionLLMRun(run, images, provider, model, manager))
