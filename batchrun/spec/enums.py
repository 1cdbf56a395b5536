"""The Skyvern enum values a spec may use (docs/skyvern-api.md §5-§7, wheel 1.0.56).

Skyvern tolerates unknown values when it *answers*; batchrun checks what users *write*, so a
typo fails at `validate` instead of after a paid run.
"""

from __future__ import annotations

# RunEngine wire values (docs/skyvern-api.md §5) and the SDK docs' spellings of the same.
ENGINES: tuple[str, ...] = (
    "skyvern-1.0",
    "skyvern-2.0",
    "skyvern-3.0",
    "openai-cua",
    "anthropic-cua",
    "ui-tars",
    "yutori-navigator",
)
ENGINE_SDK_SPELLINGS: dict[str, str] = {
    "skyvern_v1": "skyvern-1.0",
    "skyvern_v2": "skyvern-2.0",
    "openai_cua": "openai-cua",
    "anthropic_cua": "anthropic-cua",
    "ui_tars": "ui-tars",
}
DEFAULT_ENGINE = "skyvern-2.0"

PROXY_LOCATIONS: tuple[str, ...] = (
    "RESIDENTIAL",
    "US-CA",
    "US-NY",
    "US-TX",
    "US-FL",
    "US-WA",
    "RESIDENTIAL_ES",
    "RESIDENTIAL_IE",
    "RESIDENTIAL_GB",
    "RESIDENTIAL_IN",
    "RESIDENTIAL_JP",
    "RESIDENTIAL_FR",
    "RESIDENTIAL_DE",
    "RESIDENTIAL_NZ",
    "RESIDENTIAL_ZA",
    "RESIDENTIAL_AR",
    "RESIDENTIAL_AU",
    "RESIDENTIAL_BR",
    "RESIDENTIAL_TR",
    "RESIDENTIAL_CA",
    "RESIDENTIAL_MX",
    "RESIDENTIAL_IT",
    "RESIDENTIAL_NL",
    "RESIDENTIAL_PH",
    "RESIDENTIAL_KR",
    "RESIDENTIAL_SA",
    "RESIDENTIAL_ISP",
    "NONE",
)
# GeoTarget.country (docs/skyvern-api.md §5): ISO alpha-2 codes the proxy pool serves.
GEO_COUNTRIES: tuple[str, ...] = (
    "US", "AR", "AU", "BR", "CA", "DE", "ES", "FR", "GB", "IE", "IN",
    "IT", "JP", "MX", "NL", "NZ", "PH", "KR", "SA", "TR", "ZA",
)  # fmt: skip

RUN_WITH: tuple[str, ...] = ("agent", "code")
BROWSER_TYPES: tuple[str, ...] = ("msedge", "chrome", "stealth-chromium")

# Terminal RunStatus values (docs/skyvern-api.md §5) a retry policy may name, plus batchrun's
# own pseudo-status:
# a run that completed but whose output is missing, empty or invalid against the schema.
TERMINAL_FAILURE_STATUSES: tuple[str, ...] = ("failed", "terminated", "timed_out", "canceled")
INVALID_OUTPUT = "invalid_output"
RETRY_ON_VALUES: tuple[str, ...] = (*TERMINAL_FAILURE_STATUSES, INVALID_OUTPUT)
# halt: which end statuses count as failed by default (a cancel is a decision, not a failure),
# and whether runs in flight are let finish (soon) or canceled (now).
DEFAULT_HALT_ON: tuple[str, ...] = tuple(s for s in RETRY_ON_VALUES if s != "canceled")
HALT_MODES: tuple[str, ...] = ("soon", "now")

# ArtifactType (docs/skyvern-api.md §5) minus `unknown`, a read-side placeholder never written.
ARTIFACT_TYPES: tuple[str, ...] = (
    "recording",
    "audio",
    "session_replay",
    "eval_score",
    "eval_trajectory",
    "eval_rubrics",
    "browser_console_log",
    "browser_session_action_log",
    "skyvern_log",
    "skyvern_log_raw",
    "screenshot",
    "screenshot_llm",
    "screenshot_action",
    "screenshot_final",
    "screenshot_proxy",
    "screenshot_pre_submit",
    "llm_prompt",
    "llm_request",
    "llm_response",
    "llm_response_parsed",
    "llm_response_rendered",
    "visible_elements_id_css_map",
    "visible_elements_id_frame_map",
    "visible_elements_tree",
    "visible_elements_tree_trimmed",
    "visible_elements_tree_in_prompt",
    "hashed_href_map",
    "visible_elements_id_xpath_map",
    "html",
    "html_scrape",
    "html_action",
    "html_pre_submit",
    "trace",
    "har",
    "script_file",
    "pdf",
    "step_archive",
    "task_archive",
    "download",
)

# `x-user-agent` value that makes the server truncate outputs in run reads (docs/skyvern-api.md §2).
FORBIDDEN_USER_AGENT = "skyvern-ui"
