"""Command line: ``python -m bayes_sklearn demo``."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bayes_sklearn")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="logistic regression with an interaction vs sklearn")
    demo.add_argument("--draws", type=int, default=1000)
    demo.add_argument("--tune", type=int, default=1000)
    demo.add_argument("--chains", type=int, default=4)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from bayes_sklearn.demo import run_demo

        run_demo(draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed)


if __name__ == "__main__":
    main()
