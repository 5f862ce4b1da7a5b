"""The pretend Slack's ``auth.*``, ``users.*`` and ``conversations.*`` methods: who the bot is, who a user
is, what a channel is and what it holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sandbox.fake_slack_state import SlackState
from bot.sandbox.slack_types import BOT_ID, BOT_NAME, Message, channel_name_for, real_name_for, user_name_for

#: Slack's published methods of these families: another name in them is ``unknown_method``.
METHODS: dict[str, frozenset[str]] = {
    "auth": frozenset({"auth.test", "auth.revoke", "auth.teams.list"}),
    "users": frozenset(
        {
            "users.info", "users.list", "users.lookupByEmail", "users.conversations", "users.getPresence",
            "users.identity", "users.setPresence", "users.setPhoto", "users.deletePhoto",
            "users.profile.get", "users.profile.set", "users.discoverableContacts.lookup",
        }
    ),
    "conversations": frozenset(
        {
            "conversations.info", "conversations.list", "conversations.history", "conversations.replies",
            "conversations.members", "conversations.join", "conversations.leave", "conversations.open",
            "conversations.close", "conversations.create", "conversations.archive",
            "conversations.unarchive", "conversations.invite", "conversations.kick", "conversations.mark",
            "conversations.rename", "conversations.setPurpose", "conversations.setTopic",
            "conversations.acceptSharedInvite", "conversations.approveSharedInvite",
            "conversations.declineSharedInvite", "conversations.inviteShared",
            "conversations.listConnectInvites", "conversations.externalInvitePermissions.set",
            "conversations.requestSharedInvite.approve", "conversations.requestSharedInvite.deny",
            "conversations.requestSharedInvite.list", "conversations.canvases.create",
        }
    ),
}  # fmt: skip


class DirectoryMethods(SlackState):
    """``auth.*``, ``users.*`` and ``conversations.*`` (``conversations.open`` is the files' part: DMs)."""

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team,
            "user": BOT_NAME,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _auth_revoke(self, params: dict[str, Any]) -> dict[str, Any]:
        # The calling token is revoked (with test=true, only checked); later calls answer token_revoked.
        test = str(params.get("test", "")).lower() in ("1", "true")
        if not test:
            self._token_refusal = "token_revoked"
        return {"ok": True, "revoked": not test}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user")
        if not user:
            return {"ok": False, "error": "user_not_found"}
        is_bot = user == self.bot_user_id
        name = BOT_NAME if is_bot else user_name_for(user)
        real_name = BOT_NAME if is_bot else real_name_for(user)
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": self.team_id,
                "name": name,
                "real_name": real_name,
                "deleted": False,
                "is_bot": is_bot,
                "is_admin": False,
                "tz": "UTC",
                "tz_offset": 0,
                "profile": {
                    "real_name": real_name,
                    "display_name": name,
                    "real_name_normalized": real_name,
                    "display_name_normalized": name,
                    "email": None if is_bot else f"{name}@{self.team_domain}.example",
                    "team": self.team_id,
                },
            },
        }

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel or channel in self._closed_channels:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": channel_name_for(channel),
                "is_channel": channel.startswith("C"),
                "is_group": channel.startswith("G"),
                "is_im": channel.startswith("D"),
                "is_private": channel.startswith(("G", "D")),
                "is_archived": False,
                "is_member": True,
                "created": 1700000000,
                "context_team_id": self.team_id,
            },
        }

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        limit = int(params.get("limit") or 100)
        top = [m for m in self._messages.get(channel, []) if not m.is_reply or m.broadcast]
        newest_first = [self._with_thread_info(m) for m in reversed(top)]
        return {"ok": True, "messages": newest_first[:limit], "has_more": len(newest_first) > limit}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        parent = self._find_message(channel, ts) if channel and ts else None
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        root_ts = parent.thread_ts or parent.ts
        root = self._find_message(channel, root_ts) or parent
        thread = [
            m.to_dict() for m in self._messages.get(root.channel, []) if m.is_reply and m.thread_ts == root_ts
        ]
        return {"ok": True, "messages": [self._with_thread_info(root), *thread], "has_more": False}

    def _with_thread_info(self, msg: Message) -> dict[str, Any]:
        out = msg.to_dict()
        replies = [m for m in self._messages.get(msg.channel, []) if m.is_reply and m.thread_ts == msg.ts]
        if replies:
            out["thread_ts"] = msg.ts
            out["reply_count"] = len(replies)
            out["latest_reply"] = replies[-1].ts
        return out


HANDLERS: dict[str, Callable[[DirectoryMethods, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": DirectoryMethods._auth_test,
    "auth.revoke": DirectoryMethods._auth_revoke,
    "users.info": DirectoryMethods._users_info,
    "conversations.info": DirectoryMethods._conversations_info,
    "conversations.history": DirectoryMethods._conversations_history,
    "conversations.replies": DirectoryMethods._conversations_replies,
}
