"""Working an incident with the customer (issue 9; docs/decisions.md D70–D79): the
messages of its thread — replies mailed to the customer, the customer's messages
from the pages, the API and mail, internal notes — their files, the addresses it is
copied to, and finding an incident again from a received mail.

One module per concept: :mod:`.messages` (writing and reading), :mod:`.attachments`
(uploads, who sees a file, downloads, the sweep), :mod:`.copies` (the copy list),
:mod:`.mail_out` (replies through the outbox), :mod:`.inbound` (a received mail
recorded), :mod:`.threads` (a mail's incident), :mod:`.views`."""

from unisupport.services.conversation.attachments import (
    DEFAULT_CONVERSATION,
    ConversationSettings,
    UploadedFile,
    attachment_to_download,
    default_blob_store,
    store_uploads,
    sweep_blobs,
    sweep_uploads,
    visible_attachments,
)
from unisupport.services.conversation.copies import add_copies, copies_of, remove_copy
from unisupport.services.conversation.inbound import InboundAttachment, record_inbound_message
from unisupport.services.conversation.messages import post_message, visible_messages
from unisupport.services.conversation.threads import find_incident_by_message_ids, find_incident_by_reply_token
from unisupport.services.conversation.views import ThreadMessage, attachment_view, message_view, thread_messages

__all__ = [
    "DEFAULT_CONVERSATION",
    "ConversationSettings",
    "InboundAttachment",
    "ThreadMessage",
    "UploadedFile",
    "add_copies",
    "attachment_to_download",
    "attachment_view",
    "copies_of",
    "default_blob_store",
    "find_incident_by_message_ids",
    "find_incident_by_reply_token",
    "message_view",
    "post_message",
    "record_inbound_message",
    "remove_copy",
    "store_uploads",
    "sweep_blobs",
    "sweep_uploads",
    "thread_messages",
    "visible_attachments",
    "visible_messages",
]
