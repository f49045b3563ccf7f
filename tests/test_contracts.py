"""Contracts between the workflow's three layers: the rules' shell commands, the commands'
parsers and the config schema; and the commands README prints, run as printed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from runner import BIN, REPO, load_yaml, snakemake

from csmoe import strict_yaml
from csmoe.cli import COMMANDS, build_parser
from csmoe.config import load_schema

# Commands the workflow's rules call (every stage): a dry run of the three configs must
# show each at least once.
WORKFLOW_COMMANDS = {
    "examples", "synth", "koppen", "index", "descriptors", "sample", "report", "shard",
    "pretrain", "plot-training", "eval-manifest", "evaluate", "geobench", "geobench-table",
    "study",
}  # fmt: skip


def csmoe_argv(line: str) -> list[str] | None:
    """The arguments after ``-m csmoe`` of a printed shell command, without redirections."""
    tokens = shlex.split(line.removeprefix("Shell command: "))
    starts = [i for i in range(len(tokens) - 1) if tokens[i : i + 2] == ["-m", "csmoe"]]
    if not starts:
        return None
    argv = tokens[starts[0] + 2 :]
    return argv[: argv.index(">")] if ">" in argv else argv


def parse(argv: list[str]) -> None:
    """Parse `argv` as ``python -m csmoe`` would; a parser error fails the test with it."""
    try:
        build_parser(argv[0]).parse_args(argv)
    except SystemExit:
        pytest.fail(f"`python -m csmoe {shlex.join(argv)}` does not parse (stderr above)")


def dry_run_commands(*args: str, cwd: Path) -> list[list[str]]:
    result = snakemake("-n", "-p", "--forceall", *args, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    return [argv for line in lines if (argv := csmoe_argv(line)) is not None]


def stand_in_study(folder: Path) -> Path:
    """config/study.yaml with every /data path replaced by an empty stand-in folder or file."""
    text = (REPO / "config" / "study.yaml").read_text(encoding="utf-8")
    for path in sorted(set(re.findall(r"/data/[^\s#]+", text))):
        stand_in = folder / "data" / path.removeprefix("/data/")
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        if Path(path).suffix in {".tif", ".csv", ".parquet"}:
            stand_in.touch()
        else:
            stand_in.mkdir(exist_ok=True)
        text = text.replace(path, str(stand_in))
    out = folder / "study.yaml"
    out.write_text(text, encoding="utf-8")
    return out


def tiny_config(folder: Path) -> Path:
    """The tests' tiny config (test_workflow): the examples from disk, GEO-Bench on."""
    tiny = load_yaml("config.yaml")
    for name in ("s1", "s2", "geobench"):
        (folder / name).mkdir()
    tiny["archives"]["examples"] = {
        "kind": "bigearthnet-v1",
        "s1_root": str(folder / "s1"),
        "s2_root": str(folder / "s2"),
        "landcover": "labels",
    }
    tiny["study"].update(archives=["examples"], sample=["examples"], shard=["examples"])
    tiny["pretrain"].update(archives=["examples"], samplers=["thematic_climatic"], steps=3)
    tiny["pretrain"]["models"] = {"moe": {"preset": "csmoe_tiny", "variant": "SECD"}}
    tiny["evaluation"]["archives"] = []
    tiny["geobench"].update(root=str(folder / "geobench"), tasks=["m-eurosat"])
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny))  # fmt: skip
    return path


def test_every_rule_command_parses_with_its_commands_parser(tmp_path: Path) -> None:
    """The shell commands of every rule, as `snakemake -n -p` prints them for the demo, the
    tiny and the study configs, parse with the parser of the command they call."""
    configs = {"demo": (), "tiny": ("--configfile", str(tiny_config(tmp_path)))}
    configs["study"] = ("--configfile", str(stand_in_study(tmp_path)))
    seen = set()
    for name, args in configs.items():
        workdir = tmp_path / name
        workdir.mkdir()
        commands = dry_run_commands(*args, "--directory", str(workdir), cwd=workdir
                                    ) if name != "demo" else dry_run_commands(cwd=REPO)  # fmt: skip
        assert commands, name
        for argv in commands:
            parse(argv)
            seen.add(argv[0])
    assert seen == WORKFLOW_COMMANDS


def test_every_project_yaml_file_loads_strictly() -> None:
    """Config, schema, profiles and environments: no duplicate keys (a duplicate silently
    overrides the first copy), no aliases."""
    files = subprocess.run(["git", "ls-files", "*.yaml", "*.yml"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()  # fmt: skip
    assert {"config/config.yaml", "workflow/schemas/config.schema.yaml"} <= set(files)
    for name in files:
        strict_yaml.load_file(REPO / name)  # raises InputError naming the file and line


def _enum(schema: dict, *path: str) -> list:
    node = schema
    for key in path:
        node = node[key]
    return node["enum"] if "enum" in node else node["items"]["enum"]


def test_schema_enums_are_the_codes_registries() -> None:
    from csmoe.commands.common import EXCLUSIONS
    from csmoe.descriptors.build import LANDCOVER_SOURCES
    from csmoe.geobench.tasks import BAND_MAPPINGS, TASKS
    from csmoe.index.kinds import KINDS
    from csmoe.models.presets import PRESETS, VARIANTS
    from csmoe.sampling.samplers import CLIMATE_LEVELS, LANDCOVER_LEVELS, NO_LANDCOVER, SAMPLERS

    schema = load_schema()
    props = schema["properties"]
    archive = schema["$defs"]["archive"]["properties"]
    model = props["pretrain"]["properties"]["models"]["additionalProperties"]["properties"]
    assert set(_enum(model, "preset")) == set(PRESETS)
    assert set(_enum(model, "variant")) == set(VARIANTS)
    for section, key in (("study", "samplers"), ("study", "shard_samplers"),
                         ("pretrain", "samplers")):  # fmt: skip
        assert set(_enum(props, section, "properties", key)) == set(SAMPLERS), key
    assert set(_enum(archive, "kind")) == set(KINDS)
    assert set(_enum(archive, "landcover")) == set(LANDCOVER_SOURCES)
    assert set(_enum(props, "geobench", "properties", "tasks")) == set(TASKS)
    assert set(_enum(props, "geobench", "properties", "band_mapping")) == set(BAND_MAPPINGS)
    sampling = props["sampling"]["properties"]
    assert set(_enum(sampling, "climate_level")) == set(CLIMATE_LEVELS)
    assert set(_enum(sampling, "landcover_level")) == set(LANDCOVER_LEVELS)
    assert set(_enum(sampling, "no_landcover")) == set(NO_LANDCOVER)
    assert set(sampling["exclude"]["properties"]) == set(EXCLUSIONS)


def test_schema_requires_the_roots_each_archive_kind_needs() -> None:
    from csmoe.index.kinds import KINDS

    schema = load_schema()["$defs"]["archive"]
    required: dict[str, set[str]] = {name: set() for name in KINDS}
    for rule in schema["allOf"]:
        kinds = rule["if"].get("properties", {}).get("kind", {})
        for kind in kinds.get("enum", [kinds.get("const")]):
            if kind in required:
                required[kind] |= set(rule["then"].get("required", []))
    assert required == {name: set(kind.roots) for name, kind in KINDS.items()}
    roots = {root for kind in KINDS.values() for root in kind.roots + kind.optional_roots}
    assert roots <= set(schema["properties"])


# ------------------------------------------------------------------- README, as printed
def readme_code_lines() -> list[str]:
    """Command lines of README's code blocks, comments stripped, continuations joined."""
    text = (REPO / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    lines, language = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            language = line[3:].strip() if language is None else None
        elif language == "bash" and line.split(" #")[0].strip():
            lines.append(line.split(" #")[0].strip())
    return lines


def readme_inline_commands() -> list[str]:
    """Commands README shows in backticks in its text and lists (outside code blocks and
    the stage table, whose patterns are tested on their own), whitespace joined:
    ``snakemake ...``, ``python -m csmoe ...``, ``make ...``."""
    text, in_block = [], False
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            in_block = not in_block
        elif not in_block and not line.startswith("| "):
            text.append(line)
    spans = (" ".join(span.split()) for span in re.findall(r"`([^`]+)`", "\n".join(text)))
    return [s for s in spans if re.match(r"((\.venv/bin/)?snakemake|python -m csmoe|make) ", s)]


def snakemake_arguments(command: str):
    """A README snakemake command parsed by Snakemake's own parser (``<name>``
    placeholders filled, ``...`` dropped); a parser error fails the test with it."""
    from snakemake.cli import get_argument_parser

    argv = [re.sub(r"^<([\w-]+)>$", r"\1", token) for token in shlex.split(command)[1:]
            if token != "..."]  # fmt: skip
    try:
        return get_argument_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`{command}` does not parse (stderr above)")


def makefile_names() -> tuple[set[str], set[str]]:
    """The Makefile's targets and variables."""
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):(?!=)", text, re.M))
    variables = set(re.findall(r"^([A-Z_]+)\s*[?:]?=", text, re.M))
    return targets, variables


def test_readme_inline_and_make_commands_parse_as_printed() -> None:
    """Every command README writes inline parses as printed: snakemake's with Snakemake's
    parser, each config file an existing file (a target after `--configfile` would be
    taken for a second config file) and each profile a folder of the checkout;
    `python -m csmoe` ones with their command's parser; `make` ones (inline and in code
    blocks) name the Makefile's targets and variables."""
    inline = readme_inline_commands()
    made = [c for c in inline if c.startswith("make ")]
    made += [line for line in readme_code_lines() if line.startswith("make ")]
    assert any(c.startswith("snakemake") for c in inline) and made
    targets, variables = makefile_names()
    for command in inline:
        if re.match(r"(\.venv/bin/)?snakemake ", command):
            args = snakemake_arguments(command)
            for path in args.configfile or []:
                assert (REPO / path).is_file(), f"`{command}`: config file {path} does not exist"
            for profile in [] if "<" in command else args.profile or []:
                assert (REPO / profile).is_dir(), f"`{command}`: no profile {profile}"
        elif command.startswith("python -m csmoe ") and "<" not in command:
            parse(filled(command))  # (`python -m csmoe <stage> ...` is no command)
    for command in made:
        for word in command.split()[1:]:
            name = word.split("=")[0]
            known = variables if "=" in word else targets
            assert name in known, f"`{command}`: the Makefile has no {name}"


def readme_table_commands() -> list[str]:
    """The `python -m csmoe ...` patterns of README's stage table."""
    rows = [line for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| ")]  # fmt: skip
    return [command for row in rows for command in re.findall(r"`(python -m csmoe [^`]+)`", row)]


PLACEHOLDERS = {"N": "8", "S": "0", "KIND": "bigearthnet-v2", "--sampler NAME": "--sampler random",
                "--preset NAME": "--preset csmoe_tiny"}  # fmt: skip


def filled(pattern: str) -> list[str]:
    """A README pattern with its placeholders filled: ``NAME``-like words by a valid value,
    ``...`` after an option by a value (elsewhere dropped), ``[--opt X]`` unbracketed."""
    text = pattern.removeprefix("python -m csmoe ").replace("[", "").replace("]", "")
    for placeholder, value in PLACEHOLDERS.items():
        text = re.sub(rf"(?<![\w-]){re.escape(placeholder)}(?![\w.-])", value, text)
    argv: list[str] = []
    for token in shlex.split(text):
        if token == "...":
            if argv and argv[-1].startswith("--"):
                argv.append("x")
            continue
        argv.append(token)
    return argv


def test_readme_stage_table_lists_every_command_and_each_parses() -> None:
    patterns = readme_table_commands()
    assert {filled(p)[0] for p in patterns} >= set(COMMANDS)
    for pattern in patterns:
        parse(filled(pattern))
    launched = [argv for line in readme_code_lines() if (argv := csmoe_argv(line))]
    assert launched  # the multi-node torchrun example
    for argv in launched:
        parse(filled(shlex.join(["python", "-m", "csmoe", *argv])))


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The repository's files, with config/study.yaml pointed at stand-in data (README's
    step "Point the config at it") and the environment at .venv (README's install)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                           check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
    copy = tmp_path / "csmoe checkout"
    for name in files:
        if (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes((REPO / name).read_bytes())
    (copy / "config" / "study.yaml").write_text(
        stand_in_study(tmp_path).read_text(encoding="utf-8"), encoding="utf-8"
    )
    (copy / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return copy


def run_shell(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def test_readme_snakemake_commands_run_as_printed(checkout: Path) -> None:
    """Every snakemake command of README, in a fresh checkout, as a dry run (``-n`` added
    where README's command would run jobs); the study config also with
    --replace-workflow-config, which must give the same jobs."""
    concrete = [c for c in readme_inline_commands() if "<" not in c and "..." not in c]
    commands = [
        line
        for line in readme_code_lines() + concrete
        if re.match(r"^(\.venv/bin/)?snakemake\b", line) and "--report" not in line
    ]
    assert any("results/study/geobench.md" in c for c in commands)  # an inline one
    assert any("--configfile config/study.yaml" in c for c in commands)  # fmt: skip
    for line in commands:
        dry = (
            line
            if re.search(r"(^|\s)-n(\s|$)", line)
            else line.replace("snakemake", "snakemake -n", 1)
        )
        result = run_shell(dry, checkout)
        assert result.returncode == 0, f"{line}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    study = "snakemake -n --configfile config/study.yaml"
    merged, replaced = (run_shell(f"{study}{extra}", checkout)
                        for extra in ("", " --replace-workflow-config"))  # fmt: skip
    assert replaced.returncode == 0, replaced.stderr[-2000:]

    def jobs(result: subprocess.CompletedProcess[str]) -> list[str]:
        """The outputs of every job the dry run lists."""
        log = (result.stdout + result.stderr).splitlines()
        return sorted(line.strip() for line in log if line.strip().startswith("output:"))

    assert jobs(merged) == jobs(replaced)
    assert "csmoe_tiny" not in merged.stdout + merged.stderr  # no demo model in the study
