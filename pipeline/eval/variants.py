"""Which variants an eval runs: the ``--variant`` syntax and the selection rules.

``--variant NAME`` selects a variant from the config's ``variants:`` section, or ``base`` (the
config as loaded, with no variant overrides). ``--variant 'NAME=KEY=VALUE;KEY=VALUE'`` defines an
ad-hoc variant: the base config plus those overrides (``--set`` syntax, ``;``-separated). Without
any ``--variant`` every variant of the config runs, in file order. The first variant is the
baseline. Ad-hoc variants are checked by :func:`pipeline.config.load_config` together with the
config's own, so every problem is reported before the first model call.
"""

from __future__ import annotations

from pipeline.config import BASE_VARIANT, LoadedConfig, LoadedVariant
from pipeline.errors import ConfigError


def parse_variant_args(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """``--variant`` values -> (variant names in order, ad-hoc definitions name -> overrides)."""
    names: list[str] = []
    adhoc: dict[str, list[str]] = {}
    problems: list[str] = []
    for arg in args:
        name, sep, rest = arg.partition("=")
        name = name.strip()
        if name in names:
            problems.append(f"--variant {name!r} is given twice")
            continue
        names.append(name)
        if sep:
            overrides = [part.strip() for part in rest.split(";") if part.strip()]
            if not overrides:
                problems.append(f"--variant {arg!r}: no KEY=VALUE overrides after {name + '='!r}")
            adhoc[name] = overrides
    if problems:
        raise ConfigError("--variant", problems)
    return names, adhoc


def select_variants(loaded: LoadedConfig, names: list[str]) -> list[LoadedVariant]:
    """The variants to run, baseline first; ConfigError for unknown names or fewer than two."""
    names = names or list(loaded.variants)
    known = [BASE_VARIANT, *loaded.variants]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(loaded.path, [f"no variant {n!r} (known: {', '.join(known)}; or define one with "
                                        f"--variant '{n}=KEY=VALUE;KEY=VALUE')" for n in unknown])
    if len(names) < 2:
        got = ", ".join(names) or "none"
        raise ConfigError(loaded.path, [f"eval needs at least two variants to compare (got: {got}); define "
                                        "variants: in the config or pass --variant (--variant base is the "
                                        "config as it is)"])
    return [loaded.variant(n) for n in names]
