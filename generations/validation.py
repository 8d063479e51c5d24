"""THE validation rules for a generation request (providers.md §6). Forms, the API and adapters all call this module.

``validate_spec`` checks the provider-independent rules and then, when a provider is named, that provider's
capabilities through its adapter's ``check_supported`` (the one place for capability rules). It returns warnings and
raises ``SpecValidationError`` with every error found, keyed by JobSpec field name. Messages say what is wrong and how
to fix it; they are shown to users verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from generations.providers.base import (
    ASPECT_RATIOS,
    MAX_DURATION,
    MAX_REFERENCES,
    MIN_DURATION,
    PROMPT_MAX_CHARS,
    REFERENCE_TYPES,
    RESOLUTIONS,
    SEED_MAX,
    JobSpec,
    Mode,
)
from generations.providers.errors import UnsupportedFeatureError

REF_NAME_MAX_BYTES = 30
NEGATIVE_PROMPT_MAX_CHARS = 2048
IMAGE_MAX_BYTES = 20 * 1024 * 1024
_REF_NAME_RE = re.compile(r"[A-Za-z0-9_]+")
_MENTION_RE = re.compile(r"@([A-Za-z0-9_]*)")
_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"))


class SpecValidationError(ValueError):
    """The request is invalid. ``errors`` maps a field name to its messages (``__all__``-style keys are not used)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(message for messages in errors.values() for message in messages))


class RefNameError(ValueError):
    """A reference name breaks the naming rules. The message is user-facing."""


def validate_ref_name(name: str) -> None:
    """Raise ``RefNameError`` unless ``name`` is 1-30 UTF-8 bytes of ``[A-Za-z0-9_]`` (no ``@``, no spaces)."""
    if not name:
        raise RefNameError("A reference name is required, e.g. cat or red_car.")
    if name.startswith("@"):
        raise RefNameError(f'Write the reference name without "@": use {name.lstrip("@")!r}, not {name!r}.')
    if not _REF_NAME_RE.fullmatch(name):
        raise RefNameError(
            f'Reference name "{name}" may only contain letters A-Z/a-z, digits and underscores '
            "(no spaces, accents or punctuation), e.g. red_car."
        )
    if len(name.encode()) > REF_NAME_MAX_BYTES:
        raise RefNameError(
            f'Reference name "{name}" is {len(name.encode())} bytes long; the limit is {REF_NAME_MAX_BYTES}. '
            "Use a shorter name."
        )


_TRAILING_MENTION_RE = re.compile(r"@[A-Za-z0-9_]+$")


def normalize_prompt(prompt: str) -> str:
    """The prompt as it is stored and sent: surrounding whitespace trimmed, and a space after an ``@ref_name`` that
    ends it (providers require a space after every mention; typing one at the very end is easy to forget)."""
    text = prompt.strip()
    return f"{text} " if _TRAILING_MENTION_RE.search(text) else text


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_mode_inputs(spec: JobSpec, mode: Mode, errors: dict[str, list[str]]) -> None:
    refs = len(spec.references)
    if mode == Mode.IMAGE_TO_VIDEO:
        if spec.image is None:
            _add(errors, "image", "Image-to-video needs exactly one image; add an image.")
        if refs:
            _add(
                errors,
                "references",
                f"Image-to-video takes one image, not references; remove the {refs} "
                "reference(s) or switch to reference-to-video.",
            )
    elif mode == Mode.REFERENCE_TO_VIDEO:
        if spec.image is not None:
            _add(
                errors,
                "image",
                "Reference-to-video uses references, not a single image; add the image as a reference instead.",
            )
        if not 1 <= refs <= MAX_REFERENCES:
            _add(errors, "references", f"Reference-to-video needs 1 to {MAX_REFERENCES} references; {refs} given.")
    else:
        if spec.image is not None:
            _add(errors, "image", "Text-to-video takes no image; remove it or switch to image-to-video.")
        if refs:
            _add(
                errors, "references", "Text-to-video takes no references; remove them or switch to reference-to-video."
            )


def _check_references(spec: JobSpec, errors: dict[str, list[str]]) -> list[str]:
    """Check each reference; return the valid names in order (for the prompt check)."""
    names: list[str] = []
    seen: set[str] = set()
    for position, ref in enumerate(spec.references, start=1):
        if ref.type not in REFERENCE_TYPES:
            _add(errors, "references", f'Reference {position} has type "{ref.type}"; use "subject" or "background".')
        try:
            validate_ref_name(ref.ref_name)
        except RefNameError as exc:
            _add(errors, "references", f"Reference {position}: {exc}")
            continue
        if ref.ref_name in seen:
            _add(
                errors,
                "references",
                f'Reference name "{ref.ref_name}" is used more than once; give each reference its own name.',
            )
        else:
            seen.add(ref.ref_name)
            names.append(ref.ref_name)
    return names


def _known(names: Sequence[str]) -> str:
    return ", ".join(f"@{name}" for name in names) if names else "none"


def _check_mentions(prompt: str, names: Sequence[str], errors: dict[str, list[str]]) -> list[str]:
    """Check every ``@token`` in the prompt against ``names``; return warnings for unmentioned references."""
    mentioned: set[str] = set()
    for match in _MENTION_RE.finditer(prompt):
        token = match.group(1)
        if not token:
            _add(
                errors,
                "prompt",
                f'The prompt has an "@" that is not followed by a reference name. Write @name '
                f'with one of: {_known(names)}, or remove the "@".',
            )
            continue
        if token not in names:
            hint = next(
                (f" Names are case-sensitive: did you mean @{n}?" for n in names if n.lower() == token.lower()), ""
            )
            _add(
                errors,
                "prompt",
                f'Reference "@{token}" in the prompt does not match any reference. Known '
                f"references: {_known(names)}.{hint}",
            )
            continue
        mentioned.add(token)
        following = prompt[match.end() : match.end() + 1]
        if following == "":
            _add(errors, "prompt", f'Reference "@{token}" is at the end of the prompt; add a space after it.')
        elif following != " ":
            _add(
                errors,
                "prompt",
                f'Reference "@{token}" must be followed by a space, not "{following}"; write "@{token} {following}".',
            )
    return [
        f'Reference "@{name}" is not mentioned in the prompt; the provider may ignore it. Mention it as "@{name} ".'
        for name in names
        if name not in mentioned
    ]


def _check_prompt(spec: JobSpec, mode: Mode, errors: dict[str, list[str]]) -> None:
    if not isinstance(spec.prompt, str):
        _add(errors, "prompt", "The prompt must be text.")
        return
    if mode in (Mode.TEXT_TO_VIDEO, Mode.REFERENCE_TO_VIDEO) and not spec.prompt.strip():
        _add(errors, "prompt", f"A prompt is required for {mode.label}; describe the video you want.")
    if len(spec.prompt) > PROMPT_MAX_CHARS:
        over = len(spec.prompt) - PROMPT_MAX_CHARS
        _add(
            errors,
            "prompt",
            f"The prompt is {len(spec.prompt)} characters long; the limit is {PROMPT_MAX_CHARS}. "
            f"Shorten it by {over} characters.",
        )
    if not isinstance(spec.negative_prompt, str):
        _add(errors, "negative_prompt", "The negative prompt must be text.")
    elif len(spec.negative_prompt) > NEGATIVE_PROMPT_MAX_CHARS:
        over = len(spec.negative_prompt) - NEGATIVE_PROMPT_MAX_CHARS
        _add(
            errors,
            "negative_prompt",
            f"The negative prompt is {len(spec.negative_prompt)} characters long; the "
            f"limit is {NEGATIVE_PROMPT_MAX_CHARS}. Shorten it by {over} characters.",
        )


def _check_options(spec: JobSpec, mode: Mode, errors: dict[str, list[str]]) -> None:
    if not _is_int(spec.duration) or not MIN_DURATION <= spec.duration <= MAX_DURATION:
        _add(
            errors,
            "duration",
            f"Duration must be a whole number of seconds from {MIN_DURATION} to {MAX_DURATION}; got {spec.duration!r}.",
        )
    if spec.resolution not in RESOLUTIONS:
        _add(errors, "resolution", f"Resolution must be one of {', '.join(RESOLUTIONS)}; got {spec.resolution!r}.")
    if mode == Mode.IMAGE_TO_VIDEO:
        if spec.aspect_ratio:
            _add(
                errors,
                "aspect_ratio",
                "Image-to-video follows the image's shape, so it takes no aspect ratio; leave it empty.",
            )
    elif spec.aspect_ratio is not None and spec.aspect_ratio not in ASPECT_RATIOS:
        _add(
            errors,
            "aspect_ratio",
            f"Aspect ratio must be one of {', '.join(ASPECT_RATIOS)}; got {spec.aspect_ratio!r}.",
        )
    if spec.seed is not None and (not _is_int(spec.seed) or not 0 <= spec.seed <= SEED_MAX):
        _add(
            errors,
            "seed",
            f"Seed must be a whole number from 0 to {SEED_MAX}, or empty for a random one; got {spec.seed!r}.",
        )


def validate_image_content(content: bytes) -> None:
    """Raise ``ValueError`` (user-facing message) unless ``content`` is a JPEG/PNG/WEBP under 20 MB (magic bytes)."""
    if len(content) >= IMAGE_MAX_BYTES:
        raise ValueError(f"The image is {len(content) // (1024 * 1024)} MB; images must be under 20 MB.")
    is_webp = content[:4] == b"RIFF" and content[8:12] == b"WEBP"
    if not is_webp and not any(content.startswith(magic) for magic, _ in _IMAGE_MAGIC):
        raise ValueError("The image must be a JPEG, PNG or WEBP file.")


def _check_images(spec: JobSpec, errors: dict[str, list[str]]) -> None:
    images = [("image", spec.image)] + [("references", ref.image) for ref in spec.references]
    for field, image in images:
        if image is None:
            continue
        if image.content is None and not image.url and not image.provider_ref:
            _add(errors, field, "An image has neither a file nor a URL; attach the image again.")
        elif image.content is not None:
            try:
                validate_image_content(image.content)
            except ValueError as exc:
                _add(errors, field, str(exc))


def _check_provider(spec: JobSpec, provider: str, errors: dict[str, list[str]]) -> None:
    from generations.providers.registry import UnknownProviderError, adapter_class

    try:
        adapter = adapter_class(provider)()
    except UnknownProviderError as exc:
        _add(errors, "provider", str(exc))
        return
    try:
        adapter.check_supported(spec)
    except UnsupportedFeatureError as exc:
        _add(
            errors,
            exc.option,
            f"{adapter.label} cannot do this: {exc.message.split(': ', 1)[-1]}. Change it or pick another provider.",
        )


def validate_spec(spec: JobSpec, *, provider: str | None = None) -> list[str]:
    """Return warnings for a valid ``spec``; raise ``SpecValidationError`` listing every error otherwise.

    The provider's capabilities are only checked once the provider-independent rules pass (they assume a sane spec).
    """
    errors: dict[str, list[str]] = {}
    warnings: list[str] = []
    try:
        mode = Mode(spec.mode)
    except ValueError:
        raise SpecValidationError(
            {"mode": [f"Mode must be one of {', '.join(m.value for m in Mode)}; got {spec.mode!r}."]}
        ) from None
    _check_mode_inputs(spec, mode, errors)
    _check_prompt(spec, mode, errors)
    if mode == Mode.REFERENCE_TO_VIDEO:
        names = _check_references(spec, errors)
        if isinstance(spec.prompt, str):
            warnings += _check_mentions(spec.prompt, names, errors)
    _check_options(spec, mode, errors)
    _check_images(spec, errors)
    if spec.resolution == "1080p" and _is_int(spec.duration) and spec.duration > 5:
        warnings.append(
            "1080p videos longer than 5 s are unconfirmed for PixVerse C1 (one source caps 1080p at "
            "5 s); the provider may refuse or shorten it. Choose 5 s or 720p to be safe."
        )
    if not errors and provider:
        _check_provider(spec, provider, errors)
    if errors:
        raise SpecValidationError(errors)
    return warnings
