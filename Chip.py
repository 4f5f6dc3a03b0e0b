"""Stage 2: chip area, latency and energy from the stage-1 traces (DNN+NeuroSim V1.4 style).

Status: the chip estimator itself (Chip -> Tile -> PE -> SubArray -> peripherals) is not
built yet. This command resolves and validates the shared configuration, derives the
design parameters and the technology of the chosen node through FormulaBindings, and
prints them. Bad settings fail here exactly as they will for the estimator.
"""
from __future__ import annotations

import argparse
import sys

from inferenceConfig import add_config_arguments, config_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Stage 2: chip-level area/latency/energy estimation (configuration "
                    "and technology only in this version; the estimator is not built yet).")
    add_config_arguments(parser)
    return parser


def hardware_summary(cfg) -> str:
    """The derived design parameters and the technology the estimator will use."""
    import FormulaBindings as fb

    param = cfg.to_param()
    param.validate()
    tech = fb.Technology(cfg.technology.node_nm, cfg.technology.roadmap,
                         cfg.technology.transistor_type, cfg.technology.temperature_K)
    lines = ["[derived design parameters]"]
    for name in sorted(fb.Param.derived_fields()):
        lines.append(f"  {name:<32} = {param.get(name)!r}")
    lines.append(f"[technology {cfg.technology.node_nm} nm {cfg.technology.roadmap}, "
                 f"{cfg.technology.temperature_K} K]")
    for name in ("featureSize", "vdd", "vth", "phyGateLength", "capIdealGate", "pnSizeRatio",
                 "effectiveResistanceMultiplier"):
        lines.append(f"  {name:<32} = {getattr(tech, name)!r}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    try:
        summary = hardware_summary(cfg)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("Configuration\n" + cfg.describe())
    print(summary)
    print("\nChip estimation (area, latency, energy) is not implemented yet; "
          "only the configuration and technology are shown.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
