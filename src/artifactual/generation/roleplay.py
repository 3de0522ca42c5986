"""The role-play generator: config -> sessions -> scheduler -> run store."""

from __future__ import annotations

from artifactual.agents.roleplay import RolePlaySession, RolePlayTask
from artifactual.agents.templates import load_strategy
from artifactual.agents.termination import Termination
from artifactual.config import RunConfig
from artifactual.records import Conversation, Provenance

__all__ = ["build_sessions", "session_record"]


def build_sessions(cfg: RunConfig) -> list[RolePlaySession]:
    """Every dialogue of the run: strategies x seeds x tasks, with stable ids."""
    rp = cfg.roleplay
    assert rp is not None
    term = dict(max_msgs=rp.max_messages, user_no_instruction=rp.max_user_without_instruction,
                user_markers=tuple(rp.user_markers), done_token=rp.done_token,
                repetition_threshold=rp.repetition_threshold)
    sessions = []
    for strategy_name in cfg.strategies:
        strategy = load_strategy(strategy_name, cfg.prompts_dir)
        for seed in cfg.seeds:
            for i, spec in enumerate(rp.expand()):
                sessions.append(RolePlaySession(
                    id=f"{strategy_name}-s{seed}-{i:04d}",
                    task=RolePlayTask(spec.assistant_role, spec.user_role, spec.task),
                    strategy=strategy, sampling=cfg.sampling, seed=seed,
                    termination=Termination.camel(**term), specify=rp.specify_task,
                    word_limit=rp.word_limit, history_window=rp.history_window))
    return sessions


def session_record(session: RolePlaySession, cfg: RunConfig, model: str, engine: dict) -> Conversation:
    """The finished session as a record with full provenance."""
    conv = session.to_conversation()
    conv.provenance = Provenance(
        generator="roleplay", strategy=session.strategy.name,
        strategy_sha256=session.strategy.sha256, model=model, backend=cfg.backend,
        sampling=cfg.sampling.model_copy(update={"seed": session.seed}), seed=session.seed,
        engine_version=engine.get("engine_version"), usage=session.usage)
    return conv
