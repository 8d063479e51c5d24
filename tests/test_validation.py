"""generations.validation: every rule accepts a valid case and rejects an invalid one with its exact message."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generations.providers.base import ImageInput, JobSpec, Mode, Reference
from generations.validation import RefNameError, SpecValidationError, validate_ref_name, validate_spec
from tests.providers.conftest import image_input, job_spec, png_bytes


def errors_of(spec: JobSpec, **kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(spec, **kwargs)
    return caught.value.errors


def ref(name: str, type_: str = "subject") -> Reference:
    return Reference(ref_name=name, type=type_, image=image_input(f"{name or 'x'}.png"))  # type: ignore[arg-type]


def r2v(prompt: str, *names: str, **overrides: Any) -> JobSpec:
    return job_spec(Mode.REFERENCE_TO_VIDEO, prompt=prompt, references=tuple(ref(n) for n in names), **overrides)


@pytest.mark.parametrize("mode", list(Mode))
def test_valid_specs_pass_without_warnings(mode: Mode) -> None:
    assert validate_spec(job_spec(mode)) == []


# --- mode x inputs -----------------------------------------------------------------------------------------------


def test_i2v_needs_an_image() -> None:
    spec = dataclasses.replace(job_spec(Mode.IMAGE_TO_VIDEO), image=None)
    assert errors_of(spec) == {"image": ["Image-to-video needs exactly one image; add an image."]}


def test_i2v_takes_no_references() -> None:
    spec = job_spec(Mode.IMAGE_TO_VIDEO, references=(ref("cat"),))
    assert errors_of(spec)["references"] == [
        "Image-to-video takes one image, not references; remove the 1 reference(s) or switch to reference-to-video."
    ]


def test_r2v_needs_one_to_seven_references() -> None:
    assert errors_of(r2v("a cat"))["references"] == ["Reference-to-video needs 1 to 7 references; 0 given."]
    names = [f"r{i}" for i in range(8)]
    prompt = " ".join(f"@{n} " for n in names)
    assert errors_of(r2v(prompt, *names))["references"] == ["Reference-to-video needs 1 to 7 references; 8 given."]
    assert validate_spec(r2v(" ".join(f"@{n} " for n in names[:7]), *names[:7])) == []


def test_r2v_takes_no_single_image() -> None:
    spec = dataclasses.replace(r2v("@cat runs", "cat"), image=image_input())
    assert errors_of(spec) == {
        "image": ["Reference-to-video uses references, not a single image; add the image as a reference instead."]
    }


def test_t2v_takes_no_image_or_references() -> None:
    spec = dataclasses.replace(job_spec(Mode.TEXT_TO_VIDEO), image=image_input(), references=(ref("cat"),))
    assert errors_of(spec) == {
        "image": ["Text-to-video takes no image; remove it or switch to image-to-video."],
        "references": ["Text-to-video takes no references; remove them or switch to reference-to-video."],
    }


def test_unknown_mode() -> None:
    spec = dataclasses.replace(job_spec(Mode.TEXT_TO_VIDEO), mode="v2v")  # type: ignore[arg-type]
    assert errors_of(spec) == {"mode": ["Mode must be one of i2v, r2v, t2v; got 'v2v'."]}


# --- references --------------------------------------------------------------------------------------------------


def test_reference_type() -> None:
    spec = r2v("@cat runs", "cat")
    spec = dataclasses.replace(spec, references=(dataclasses.replace(spec.references[0], type="foreground"),))
    assert errors_of(spec)["references"] == ['Reference 1 has type "foreground"; use "subject" or "background".']
    assert validate_spec(dataclasses.replace(spec, references=(ref("cat", "background"),))) == []


def test_duplicate_reference_names() -> None:
    assert errors_of(r2v("@cat runs", "cat", "cat"))["references"] == [
        'Reference name "cat" is used more than once; give each reference its own name.'
    ]


@pytest.mark.parametrize("name", ["cat", "Red_Car_2", "a" * 30, "_"])
def test_valid_ref_names(name: str) -> None:
    validate_ref_name(name)


@pytest.mark.parametrize(
    "name,message",
    [
        ("", "A reference name is required, e.g. cat or red_car."),
        ("@cat", "Write the reference name without \"@\": use 'cat', not '@cat'."),
        (
            "red car",
            'Reference name "red car" may only contain letters A-Z/a-z, digits and underscores '
            "(no spaces, accents or punctuation), e.g. red_car.",
        ),
        (
            "café",
            'Reference name "café" may only contain letters A-Z/a-z, digits and underscores '
            "(no spaces, accents or punctuation), e.g. red_car.",
        ),
        ("a" * 31, f'Reference name "{"a" * 31}" is 31 bytes long; the limit is 30. Use a shorter name.'),
    ],
)
def test_invalid_ref_names(name: str, message: str) -> None:
    with pytest.raises(RefNameError) as caught:
        validate_ref_name(name)
    assert str(caught.value) == message


def test_invalid_ref_name_in_a_spec_names_its_position() -> None:
    assert errors_of(r2v("@cat runs", "cat", "red car"))["references"][0].startswith(
        'Reference 2: Reference name "red car"'
    )


# --- @mentions ---------------------------------------------------------------------------------------------------


def test_mention_without_reference() -> None:
    assert errors_of(r2v("@dog chases @cat in @park at noon", "cat", "park"))["prompt"] == [
        'Reference "@dog" in the prompt does not match any reference. Known references: @cat, @park.'
    ]


def test_mentions_are_case_sensitive() -> None:
    assert errors_of(r2v("@Cat runs", "cat"))["prompt"] == [
        'Reference "@Cat" in the prompt does not match any reference. Known references: @cat. Names are '
        "case-sensitive: did you mean @cat?"
    ]


def test_mention_must_be_followed_by_a_space() -> None:
    assert errors_of(r2v("look at @cat.", "cat"))["prompt"] == [
        'Reference "@cat" must be followed by a space, not "."; write "@cat .".'
    ]
    assert errors_of(r2v("look at @cat", "cat"))["prompt"] == [
        'Reference "@cat" is at the end of the prompt; add a space after it.'
    ]
    assert validate_spec(r2v("look at @cat ", "cat")) == []


def test_bare_at_sign() -> None:
    assert errors_of(r2v("@cat runs @ noon", "cat"))["prompt"] == [
        'The prompt has an "@" that is not followed by a reference name. Write @name with one of: @cat, or remove '
        'the "@".'
    ]


def test_longest_name_wins() -> None:
    assert validate_spec(r2v("@cat_2 and @cat play", "cat", "cat_2")) == []


def test_unmentioned_reference_is_a_warning() -> None:
    assert validate_spec(r2v("@cat runs", "cat", "park")) == [
        'Reference "@park" is not mentioned in the prompt; the provider may ignore it. Mention it as "@park ".'
    ]


def test_mentions_are_not_checked_outside_r2v() -> None:
    assert validate_spec(job_spec(Mode.TEXT_TO_VIDEO, prompt="email me@example.com")) == []


# --- prompt and options ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode,label", [(Mode.TEXT_TO_VIDEO, "text-to-video"), (Mode.REFERENCE_TO_VIDEO, "reference-to-video")]
)
def test_prompt_required(mode: Mode, label: str) -> None:
    assert errors_of(job_spec(mode, prompt="  "))["prompt"][0] == (
        f"A prompt is required for {label}; describe the video you want."
    )


def test_i2v_prompt_may_be_empty_without_provider() -> None:
    assert validate_spec(job_spec(Mode.IMAGE_TO_VIDEO, prompt="")) == []


def test_prompt_length() -> None:
    assert validate_spec(job_spec(Mode.TEXT_TO_VIDEO, prompt="x" * 2048)) == []
    assert errors_of(job_spec(Mode.TEXT_TO_VIDEO, prompt="x" * 2100))["prompt"] == [
        "The prompt is 2100 characters long; the limit is 2048. Shorten it by 52 characters."
    ]


def test_negative_prompt_length() -> None:
    assert validate_spec(job_spec(Mode.TEXT_TO_VIDEO, negative_prompt="x" * 2048)) == []
    assert errors_of(job_spec(Mode.TEXT_TO_VIDEO, negative_prompt="x" * 2049))["negative_prompt"] == [
        "The negative prompt is 2049 characters long; the limit is 2048. Shorten it by 1 characters."
    ]


@pytest.mark.parametrize("duration", [1, 5, 15])
def test_valid_durations(duration: int) -> None:
    validate_spec(job_spec(Mode.TEXT_TO_VIDEO, duration=duration))


@pytest.mark.parametrize("duration", [0, 16, 5.5, True, "5"])
def test_invalid_durations(duration: object) -> None:
    assert errors_of(job_spec(Mode.TEXT_TO_VIDEO, duration=duration))["duration"] == [
        f"Duration must be a whole number of seconds from 1 to 15; got {duration!r}."
    ]


def test_resolution() -> None:
    validate_spec(job_spec(Mode.TEXT_TO_VIDEO, resolution="360p"))
    assert errors_of(job_spec(Mode.TEXT_TO_VIDEO, resolution="720P"))["resolution"] == [
        "Resolution must be one of 360p, 540p, 720p, 1080p; got '720P'."
    ]


def test_aspect_ratio() -> None:
    validate_spec(job_spec(Mode.TEXT_TO_VIDEO, aspect_ratio="21:9"))
    validate_spec(job_spec(Mode.TEXT_TO_VIDEO, aspect_ratio=None))
    assert errors_of(job_spec(Mode.TEXT_TO_VIDEO, aspect_ratio="5:4"))["aspect_ratio"] == [
        "Aspect ratio must be one of 16:9, 9:16, 4:3, 3:4, 1:1, 2:3, 3:2, 21:9; got '5:4'."
    ]
    assert errors_of(job_spec(Mode.IMAGE_TO_VIDEO, aspect_ratio="16:9"))["aspect_ratio"] == [
        "Image-to-video follows the image's shape, so it takes no aspect ratio; leave it empty."
    ]


@pytest.mark.parametrize("seed", [None, 0, 2147483647])
def test_valid_seeds(seed: int | None) -> None:
    validate_spec(job_spec(Mode.TEXT_TO_VIDEO, seed=seed))


@pytest.mark.parametrize("seed", [-1, 2147483648, 1.5])
def test_invalid_seeds(seed: object) -> None:
    assert errors_of(job_spec(Mode.TEXT_TO_VIDEO, seed=seed))["seed"] == [
        f"Seed must be a whole number from 0 to 2147483647, or empty for a random one; got {seed!r}."
    ]


def test_1080p_over_5_seconds_is_a_warning() -> None:
    assert validate_spec(job_spec(Mode.TEXT_TO_VIDEO, resolution="1080p", duration=5)) == []
    (warning,) = validate_spec(job_spec(Mode.TEXT_TO_VIDEO, resolution="1080p", duration=6))
    assert warning.startswith("1080p videos longer than 5 s are unconfirmed")


def test_image_content_must_be_an_image() -> None:
    gif = ImageInput(sha256="g", content=b"GIF89a....")
    assert errors_of(job_spec(Mode.IMAGE_TO_VIDEO, image=gif))["image"] == [
        "The image must be a JPEG, PNG or WEBP file."
    ]
    webp = ImageInput(sha256="w", content=b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert validate_spec(job_spec(Mode.IMAGE_TO_VIDEO, image=webp)) == []
    assert validate_spec(job_spec(Mode.IMAGE_TO_VIDEO, image=ImageInput(sha256="p", content=png_bytes()))) == []


def test_image_needs_content_or_url() -> None:
    assert errors_of(job_spec(Mode.IMAGE_TO_VIDEO, image=ImageInput(sha256="e")))["image"] == [
        "An image has neither a file nor a URL; attach the image again."
    ]


def test_all_errors_are_reported_at_once() -> None:
    spec = job_spec(Mode.TEXT_TO_VIDEO, prompt="", duration=0, resolution="4k", seed=-1)
    assert set(errors_of(spec)) == {"prompt", "duration", "resolution", "seed"}


# --- provider capabilities (delegated to the adapters) ------------------------------------------------------------


def test_provider_capabilities_are_checked() -> None:
    assert validate_spec(job_spec(Mode.TEXT_TO_VIDEO, seed=1), provider="pixverse") == []
    assert errors_of(job_spec(Mode.TEXT_TO_VIDEO, seed=1), provider="wavespeed") == {
        "seed": [
            "WaveSpeed cannot do this: it does not take a seed for C1; leave the seed empty. Change it or pick another "
            "provider."
        ]
    }
    # Documented since the first build (providers.md §10): DashScope c1 t2v and HighwayAPI i2v (JPEG/PNG only).
    assert validate_spec(job_spec(Mode.TEXT_TO_VIDEO), provider="dashscope") == []
    assert validate_spec(job_spec(Mode.IMAGE_TO_VIDEO), provider="highway") == []
    webp = ImageInput(sha256="w" * 64, url="https://cdn.example.com/x.webp", content_type="image/webp")
    assert errors_of(job_spec(Mode.IMAGE_TO_VIDEO, image=webp), provider="highway")["image"][0].startswith(
        "HighwayAPI cannot do this: image-to-video takes only JPEG or PNG images"
    )
    assert errors_of(job_spec(Mode.IMAGE_TO_VIDEO, prompt=""), provider="wavespeed")["prompt"]
    assert validate_spec(job_spec(Mode.IMAGE_TO_VIDEO, prompt=""), provider="dashscope") == []


def test_unknown_provider() -> None:
    assert errors_of(job_spec(Mode.TEXT_TO_VIDEO), provider="runway") == {
        "provider": ["unknown provider 'runway'; known providers: dashscope, highway, pixverse, wavespeed"]
    }


# --- property: never crashes ---------------------------------------------------------------------------------------

_names = st.text(alphabet=st.sampled_from("abcXYZ_1@ é"), min_size=0, max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    prompt=st.text(alphabet=st.sampled_from("ab @_.Xé\n1"), max_size=60),
    names=st.lists(_names, max_size=9),
    types=st.lists(st.sampled_from(["subject", "background", "other"]), min_size=9, max_size=9),
    mode=st.sampled_from([*Mode, "bogus"]),
    duration=st.one_of(st.integers(-3, 20), st.floats(allow_nan=True), st.none()),
    resolution=st.sampled_from(["360p", "1080p", "8k", ""]),
    aspect_ratio=st.sampled_from([None, "16:9", "5:4", ""]),
    seed=st.one_of(st.none(), st.integers(-(2**40), 2**40)),
    provider=st.sampled_from([None, "wavespeed", "pixverse", "dashscope", "highway", "nope"]),
)
def test_never_crashes(
    prompt: str,
    names: list[str],
    types: list[str],
    mode: Any,
    duration: Any,
    resolution: str,
    aspect_ratio: str | None,
    seed: int | None,
    provider: str | None,
) -> None:
    image = ImageInput(sha256="h", url="https://cdn/x.png")
    spec = JobSpec(
        job_id=uuid.uuid4(),
        mode=mode,
        prompt=prompt,
        duration=duration,
        resolution=resolution,
        aspect_ratio=aspect_ratio,
        seed=seed,
        image=image if len(names) % 2 else None,
        references=tuple(Reference(ref_name=n, type=t, image=image) for n, t in zip(names, types, strict=False)),  # type: ignore[arg-type]
    )
    try:
        warnings = validate_spec(spec, provider=provider)
    except SpecValidationError as exc:
        assert exc.errors and all(isinstance(m, str) and m for ms in exc.errors.values() for m in ms)
    else:
        assert all(isinstance(w, str) for w in warnings)


def test_normalize_prompt_pads_a_trailing_reference_and_trims() -> None:
    from generations.validation import normalize_prompt

    assert normalize_prompt("  @cat plays at @park") == "@cat plays at @park "
    assert normalize_prompt("@cat plays  \n") == "@cat plays"
    assert normalize_prompt("email me at a@b.c") == "email me at a@b.c"
