from enum import StrEnum


class WebhookEventType(StrEnum):
    RUN_FAILED = "run.failed"
    RUN_SUCCEEDED = "run.succeeded"

    def __str__(self) -> str:
        return str(self.value)
