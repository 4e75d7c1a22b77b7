"""The tables, one module per domain noun. Importing this package registers them
all on ``Base.metadata`` (Alembic and the test fixtures rely on it)."""

from unisupport.storage.tables.audit import AuditEvent
from unisupport.storage.tables.bookings import BookingRow
from unisupport.storage.tables.communications import AnnouncementRow, MailPreferenceRow, SurveyRow
from unisupport.storage.tables.conversation import AttachmentRow, CopyRow, MessageRow
from unisupport.storage.tables.customers import ContactRow, CustomerRow, SiteRow
from unisupport.storage.tables.inbound_mail import InboundMailRow
from unisupport.storage.tables.incidents import (
    AssignmentRow,
    CommunicationRow,
    IdempotencyKeyRow,
    IncidentEventRow,
    IncidentRow,
    PostIncidentReviewRow,
    RcaRequestRow,
    ThirdPartyRow,
    UpdateTargetRow,
)
from unisupport.storage.tables.ledger import LedgerAccountRow, LedgerEntryRow
from unisupport.storage.tables.mission_critical import (
    AzureEventRow,
    MilestoneCompletionRow,
    MonitoringScenarioRow,
    OutageNoticeRow,
    PlatformOutageRow,
    ServiceImprovementPlanRow,
    SuccessPlanItemRow,
    SuccessPlanRow,
)
from unisupport.storage.tables.orders import OrderLineRow, OrderRow, OrderVersionRow
from unisupport.storage.tables.outbox import OutboxRow
from unisupport.storage.tables.saved_views import SavedViewRow
from unisupport.storage.tables.sso import SsoAttemptRow, SsoIdentityRow
from unisupport.storage.tables.remote_access import RemoteAccessRow, RemoteSessionRow
from unisupport.storage.tables.users import (
    ApiTokenRow,
    CsamAssignmentRow,
    EndedSessionRow,
    TeamMemberRow,
    TeamRow,
    UserRow,
)
from unisupport.storage.tables.web_forms import FormOutcomeRow
from unisupport.storage.tables.webhooks import (
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEventRow,
    WebhookSubscriptionEventRow,
    WebhookSubscriptionRow,
)

__all__ = [
    "AssignmentRow",
    "AttachmentRow",
    "CopyRow",
    "MessageRow",
    "CommunicationRow",
    "IdempotencyKeyRow",
    "InboundMailRow",
    "IncidentEventRow",
    "IncidentRow",
    "PostIncidentReviewRow",
    "RcaRequestRow",
    "ThirdPartyRow",
    "UpdateTargetRow",
    "RemoteAccessRow",
    "RemoteSessionRow",
    "AuditEvent",
    "AzureEventRow",
    "BookingRow",
    "ContactRow",
    "CustomerRow",
    "LedgerAccountRow",
    "LedgerEntryRow",
    "MilestoneCompletionRow",
    "MonitoringScenarioRow",
    "OutageNoticeRow",
    "PlatformOutageRow",
    "OrderLineRow",
    "OrderRow",
    "OrderVersionRow",
    "ServiceImprovementPlanRow",
    "SiteRow",
    "SuccessPlanItemRow",
    "SuccessPlanRow",
    "ApiTokenRow",
    "CsamAssignmentRow",
    "EndedSessionRow",
    "TeamMemberRow",
    "TeamRow",
    "UserRow",
    "OutboxRow",
    "SavedViewRow",
    "FormOutcomeRow",
    "WebhookAttemptRow",
    "WebhookDeliveryRow",
    "WebhookEventRow",
    "WebhookSubscriptionEventRow",
    "WebhookSubscriptionRow",
    "SsoAttemptRow",
    "SsoIdentityRow",
    "AnnouncementRow",
    "MailPreferenceRow",
    "SurveyRow",
]
