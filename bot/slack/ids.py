"""Action, block and callback ids shared by the Block Kit builders and the listeners."""

from __future__ import annotations

import enum


class Callback(enum.StrEnum):
    LAUNCH_FORM = "launch_form"
    APPROVE_FORM = "approve_form"
    REJECT_FORM = "reject_form"
    STOP_CONFIRM = "stop_confirm"
    DELETE_CONFIRM = "delete_confirm"


class Action(enum.StrEnum):
    APPROVE = "approve_request"
    REJECT = "reject_request"
    WITHDRAW = "withdraw_request"
    # inputs of the launch form: changing model or hardware re-quotes the estimate
    MODEL = "model"
    HARDWARE = "hardware"
    MIN_REPLICAS = "min_replicas"
    MAX_REPLICAS = "max_replicas"
    DISPLAY_NAME = "display_name"
    INACTIVE_TIMEOUT = "inactive_timeout"
    OPTIONS = "options"
    START = "start"
    NOTE = "note"
    REASON = "reason"
    # the buttons of a "still running" reminder
    KEEP_RUNNING = "keep_running"
    STOP_NOW = "stop_now"


class Block(enum.StrEnum):
    MODEL = "model"
    HARDWARE = "hardware"
    HARDWARE_HINT = "hardware_hint"
    MIN_REPLICAS = "min_replicas"
    MAX_REPLICAS = "max_replicas"
    DISPLAY_NAME = "display_name"
    INACTIVE_TIMEOUT = "inactive_timeout"
    OPTIONS = "options"
    START = "start"
    ESTIMATE = "estimate"
    PROBLEM = "problem"  # what stopped a submission checked after its acknowledgement
    # A view waiting for Together says so in a block with one of these ids (the test driver waits them out)
    ASKING = "asking_together"  # the launch form, while the hardware list is asked for
    CHECKING = "checking"  # a submitted launch form, while it is checked
    SUBMITTED = "submitted"
    NOTE = "note"
    REASON = "reason"
    DECISION = "decision"


class Option(enum.StrEnum):
    SPECULATIVE = "speculative_decoding"
    PROMPT_CACHE = "prompt_cache"
    START_NOW = "start_now"
    START_STOPPED = "create_stopped"


COMMAND = "/endpoint"
