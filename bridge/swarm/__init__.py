"""Running a PLAN.md checklist on a pool of agents: the plan file, the task state, the runner."""
