"""Tool fuzzing: mutated lit inputs never crash `localconv-opt` or `localconv run`.

The seeds are the modules under lit_tests/ (`*.mlir` and `Inputs/*.mlir`, comment lines
dropped, the first public function renamed `@main` so `localconv run` gets past looking for
it), drawn with probability proportional to their size. A fixed seed derives `MUTANTS` mutants
from them, the mutators taking turns: delete, duplicate or swap tokens, replace an integer,
truncate, insert random bytes, give a composite attribute a wrong type, drop or add composite
attributes, remove `@main`. Each mutant is run, in subprocesses of the installed console
scripts, by `localconv-opt --pipeline default`, `localconv-opt --pipeline O0` and
`localconv run`. Every run must exit with 0 or 1, print `<tool>: error: ...` on stderr when it
exits with 1, print no Python traceback, and neither die from a signal nor hang.

Set LOCALCONV_TOOL_FUZZ_MUTANTS to try more mutants (each costs three process starts).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SEED = 20240611
MUTANTS = int(os.environ.get("LOCALCONV_TOOL_FUZZ_MUTANTS", "60"))
TIMEOUT_S = 120
LIT_ROOT = Path(__file__).resolve().parent.parent / "lit_tests"
BIN = Path(sys.executable).parent
SPLIT_MARKER = re.compile(r"^// -----[ \t]*$", re.M)
TOKEN = re.compile(r"\w+|[^\w\s]")
COMPOSITE_NAME = '"localconv.conv_general_dilated_local"'

COMMANDS = {
    "opt_default": ("localconv-opt", ["--pipeline", "default"]),
    "opt_O0": ("localconv-opt", ["--pipeline", "O0"]),
    "run": ("localconv", ["run", "--repeat", "1"]),
}


# --- seeds --------------------------------------------------------------------------------


def seeds() -> list[tuple[str, str]]:
    """(name, module text) for each `// -----` chunk of the lit inputs that holds a function."""
    paths = sorted(p for p in LIT_ROOT.rglob("*.mlir") if "Output" not in p.relative_to(LIT_ROOT).parts)
    found = []
    for path in paths:
        for index, chunk in enumerate(SPLIT_MARKER.split(path.read_text())):
            text = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("//"))
            if "func.func" in text:
                found.append((f"{path.relative_to(LIT_ROOT).with_suffix('')}.{index}", with_main(text)))
    return found


def with_main(text: str) -> str:
    """`text` with its first public function renamed @main when it has no @main."""
    if re.search(r"func\.func (public )?@main\(", text):
        return text
    match = re.search(r"func\.func (?:public )?@([\w.$-]+)\(", text)
    if match is None:
        return text
    return re.sub(rf"@{re.escape(match.group(1))}\b", "@main", text)


# --- mutators -----------------------------------------------------------------------------


def delete_token(rng: random.Random, text: str) -> str:
    token = rng.choice(list(TOKEN.finditer(text)))
    return text[: token.start()] + text[token.end() :]


def duplicate_token(rng: random.Random, text: str) -> str:
    token = rng.choice(list(TOKEN.finditer(text)))
    return text[: token.end()] + rng.choice(["", " "]) + token.group() + text[token.end() :]


def swap_tokens(rng: random.Random, text: str) -> str:
    first, second = sorted(rng.sample(list(TOKEN.finditer(text)), 2), key=lambda m: m.start())
    return (
        text[: first.start()]
        + second.group()
        + text[first.end() : second.start()]
        + first.group()
        + text[second.end() :]
    )


def replace_number(rng: random.Random, text: str) -> str:
    """An integer token replaced by a nearby or extreme one: parses, then means something else."""
    token = rng.choice([m for m in TOKEN.finditer(text) if m.group().isdigit()])
    value = int(token.group())
    replacement = rng.choice([0, 1, value + 1, max(value - 1, 0), 2 * value, 2**31, 2**63 - 1])
    return text[: token.start()] + str(replacement) + text[token.end() :]


def truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text))]


def random_bytes(rng: random.Random, text: str) -> bytes:
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(data))
        noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        if rng.random() < 0.5:
            data[position:position] = noise
        else:
            data[position : position + len(noise)] = noise
    return bytes(data)


WRONG_ATTRIBUTE_VALUES = {
    "window_strides": ['"1"', "1 : i64", "array<i32: 1>", "array<i64>", "array<i64: 0>", "array<i64: -1>"],
    "filter_shape": [
        "array<i64: 9223372036854775807>",
        "dense<1> : tensor<1xi32>",
        "[1]",
        "unit",
        "1.0 : f32",
    ],
    "lhs_dilation": ["array<i64: 1, 1, 1, 1, 1>", "dense<1> : tensor<1x1xi64>", "array<i64: 0>", "@sym"],
    "rhs_dilation": ["array<i64: 9223372036854775807>", '"x"', "array<i64: -9223372036854775808>", "true"],
    "padding": [
        "dense<1> : tensor<2xi64>",
        "dense<1> : tensor<1x2xi32>",
        "dense<1> : tensor<1x3xi64>",
        '"SAME"',
        "array<i64: 1, 1>",
        "dense<-9223372036854775808> : tensor<1x2xi64>",
        "dense<9223372036854775807> : tensor<1x2xi64>",
        "dense<> : tensor<0x2xi64>",
        "dense<1.0> : tensor<1x2xf32>",
    ],
    "dimension_numbers": [
        '["NCH", "OIH"]',
        '"NCH"',
        "[1, 2, 3]",
        '["NCH", "OIH", "NCX"]',
        '["NCHH", "OIH", "NCH"]',
        '["", "", ""]',
        '["NCH", "OIH", 5]',
    ],
    "precision": [
        '["DEFAULT"]',
        '"DEFAULT"',
        "[1, 2]",
        '["HIGHEST", "ULTRA"]',
        "[#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]",
        '["DEFAULT", "DEFAULT", "DEFAULT"]',
    ],
}


def composite_attributes(text: str, rng: random.Random) -> tuple[int, int, list[str]]:
    """(start, end, entries) of the `composite_attributes = {...}` body of a random composite."""
    starts = [m.end() for m in re.finditer(r"composite_attributes = \{", text)]
    start = rng.choice(starts)
    depth, position = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[position], 0)
        position += 1
    end = position - 1
    entries, depth, current, quoted = [], 0, "", False
    for char in text[start:end]:
        quoted ^= char == '"'
        if not quoted:
            depth += char in "[{(<"
            depth -= char in "]})>"
        if char == "," and depth == 0 and not quoted:
            entries.append(current.strip())
            current = ""
        else:
            current += char
    entries.append(current.strip())
    return start, end, [e for e in entries if e]


def wrong_attribute_type(rng: random.Random, text: str) -> str:
    start, end, entries = composite_attributes(text, rng)
    index = rng.randrange(len(entries))
    key = entries[index].split(" = ", 1)[0]
    entries[index] = f"{key} = {rng.choice(WRONG_ATTRIBUTE_VALUES.get(key, ['0 : i64']))}"
    return text[:start] + ", ".join(entries) + text[end:]


def missing_or_extra_attribute(rng: random.Random, text: str) -> str:
    start, end, entries = composite_attributes(text, rng)
    prefix, suffix = text[: start - len("composite_attributes = {")], text[end + 1 :]
    kind = rng.choice(["missing", "extra", "duplicate", "empty", "version", "decomposition", "no_dict"])
    if kind == "missing":
        del entries[rng.randrange(len(entries))]
    elif kind == "extra":
        entries.insert(rng.randrange(len(entries) + 1), rng.choice(["extra = 1 : i64", 'localconv.x = "y"']))
    elif kind == "duplicate":
        entries.append(rng.choice(entries))
    elif kind == "empty":
        entries = []
    elif kind == "version":
        replacement = rng.choice(["version = 2 : i32", "version = 0 : i32", "version = 1 : i64"])
        suffix = suffix.replace("version = 1 : i32", replacement, 1)
    elif kind == "decomposition":
        suffix = re.sub(r"decomposition = @[\w.$-]+", "decomposition = @no_such_function", suffix, count=1)
    else:
        return prefix + suffix.removeprefix(", ")
    return prefix + "composite_attributes = {" + ", ".join(entries) + "}" + suffix


def without_main(rng: random.Random, text: str) -> str:
    kind = rng.choice(["rename", "rename", "empty"])
    if kind == "empty":
        return "module {\n}\n"
    return re.sub(r"@main\b", rng.choice(["@not_main", "@main_"]), text)


@dataclasses.dataclass(frozen=True)
class Mutator:
    name: str
    apply: Callable[[random.Random, str], str | bytes]
    needs_composite: bool = False


MUTATORS = [
    Mutator("delete_token", delete_token),
    Mutator("duplicate_token", duplicate_token),
    Mutator("swap_tokens", swap_tokens),
    Mutator("replace_number", replace_number),
    Mutator("truncate", truncate),
    Mutator("random_bytes", random_bytes),
    Mutator("wrong_attribute_type", wrong_attribute_type, needs_composite=True),
    Mutator("missing_or_extra_attribute", missing_or_extra_attribute, needs_composite=True),
    Mutator("without_main", without_main),
]


def make_mutants(directory: Path) -> list[Path]:
    """Writes MUTANTS mutants to `directory`; the same files on every run."""
    rng = random.Random(SEED)
    all_seeds = seeds()
    with_composite = [s for s in all_seeds if COMPOSITE_NAME in s[1]]
    paths = []
    for index in range(MUTANTS):
        mutator = MUTATORS[index % len(MUTATORS)]
        # Weighted by size: the large pass test modules are valid; most small Inputs are not.
        population = with_composite if mutator.needs_composite else all_seeds
        name, text = rng.choices(population, weights=[len(t) for _, t in population])[0]
        mutant = mutator.apply(rng, text)
        data = mutant if isinstance(mutant, bytes) else mutant.encode()
        path = directory / f"{index:03d}_{mutator.name}_{name.replace('/', '_')}.mlir"
        path.write_bytes(data)
        paths.append(path)
    return paths


# --- running and judging ------------------------------------------------------------------


def problems(tool: str, returncode: int, stderr: str) -> list[str]:
    """What is wrong with one run's outcome (nothing for exit 0, or exit 1 with a diagnostic)."""
    found = []
    if returncode < 0:
        found.append(f"killed by signal {-returncode}")
    elif returncode not in (0, 1):
        found.append(f"exit code {returncode}")
    if "Traceback" in stderr:
        found.append("a Python traceback on stderr")
    if returncode == 1 and not re.search(rf"^{re.escape(tool)}: error: \S", stderr, re.M):
        found.append(f"exit code 1 without a '{tool}: error:' diagnostic")
    return found


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One command on one input: its exit code and what is wrong with the run."""

    command: str
    returncode: int
    problems: list[str]
    stderr: str


def run_tool(command: str, path: Path, tmp: Path) -> Outcome:
    tool, args = COMMANDS[command]
    argv = [str(BIN / tool), *args, str(path)]
    # Pass reproducers go to TMPDIR: keep them out of the system temp directory.
    env = {**os.environ, "TMPDIR": str(tmp)}
    shown = " ".join([tool, *args, str(path)])
    try:
        result = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return Outcome(shown, -1, [f"no result after {TIMEOUT_S} s"], "")
    stderr = result.stderr.decode(errors="replace")
    return Outcome(shown, result.returncode, problems(tool, result.returncode, stderr), stderr[-600:])


def run_all(command: str, paths: list[Path], tmp: Path) -> list[Outcome]:
    """`command` on every path, a few processes at a time."""
    with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda path: run_tool(command, path, tmp), paths))


def failures(outcomes: list[Outcome]) -> str:
    return "\n".join(
        f"{'; '.join(o.problems)}\n    {o.command}\n    stderr: {o.stderr.strip()}"
        for o in outcomes
        if o.problems
    )


@pytest.fixture(scope="module")
def mutants(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_mutants(tmp_path_factory.mktemp("mutants"))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_mutated_inputs_fail_cleanly(command: str, mutants: list[Path], tmp_path: Path) -> None:
    outcomes = run_all(command, mutants, tmp_path)
    assert not failures(outcomes), (
        f"runs that failed (mutants kept in {mutants[0].parent}):\n{failures(outcomes)}"
    )
    codes = [o.returncode for o in outcomes]
    # Most mutants are invalid; for localconv-opt some (a module without @main, say) are not.
    assert codes.count(1) >= len(mutants) // 4, codes
    if command.startswith("opt"):
        assert codes.count(0) >= 1, codes


def test_seeds_run_cleanly(tmp_path: Path) -> None:
    """Most unmutated seeds run (the rest fail cleanly), so failures of mutants are the mutations'."""
    paths = []
    for name, text in seeds():
        path = tmp_path / f"{name.replace('/', '_')}.mlir"
        path.write_text(text)
        paths.append(path)
    outcomes = run_all("run", paths, tmp_path)
    assert not failures(outcomes), failures(outcomes)
    assert sum(o.returncode == 0 for o in outcomes) >= len(paths) // 2, [o.returncode for o in outcomes]


@pytest.mark.parametrize(
    ("returncode", "stderr", "expected"),
    [
        (0, "", []),
        (1, "localconv-opt: error: x.mlir:1:1: expected operation name\n", []),
        (1, "", ["exit code 1 without a 'localconv-opt: error:' diagnostic"]),
        (
            1,
            "Traceback (most recent call last):\nlocalconv-opt: error: boom\n",
            ["a Python traceback on stderr"],
        ),
        (-6, "LLVM ERROR: aborting\n", ["killed by signal 6"]),
        (2, "usage: localconv-opt\n", ["exit code 2"]),
    ],
)
def test_outcome_judgement(returncode: int, stderr: str, expected: list[str]) -> None:
    assert problems("localconv-opt", returncode, stderr) == expected


def test_mutants_are_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    assert [p.read_bytes() for p in make_mutants(first)] == [p.read_bytes() for p in make_mutants(second)]
