"""Evaluation: benchmarks from the config, generation backends, the resumable journal, summaries.

    run_eval_stage(cfg, run, model_path)   # the last stage of every condition (core.evaluation.stage)

Heavy libraries (torch, transformers, vllm) are imported only by `generation`, and only when a
backend is built, so summaries and journals can be read without them.
"""
