"""简体中文 message catalog."""

MESSAGES: dict[str, str] = {
    "welcome": (
        "您好，{name}！我是代表建议与政协提案办理进度助手。\n\n"
        "• 发送编号（如 <code>018</code>、<code>第018号</code>、<code>17-5-018</code>）查看办理进度\n"
        "• /status 编号：查看状态卡\n"
        "• /help：全部命令\n\n"
        "English: set your Telegram app language to English."
    ),
    "help": (
        "<b>可用命令</b>\n"
        "/status &lt;编号&gt; — 查看办理状态（也可直接发送编号，如 018、第018号、17-5-018）\n"
        "/start — 欢迎与说明\n"
        "/help — 本帮助\n"
        "/follow 018 | unit 单位 | keyword 关键词 | session — 关注，有进展时通知您\n"
        "/unfollow … — 取消关注；/following — 我的关注\n"
        "/settings — 语言、推送方式（即时/每日/每周汇总）、免打扰时段\n"
        "/unbind — 解除代表/承办单位绑定\n"
        "管理员：/bind deputy:姓名 | unit:单位 — 生成一次性绑定链接\n\n"
        "编号可带或不带前导零；同一编号在多个会次出现时，会请您选择会次。"
    ),
    "cmd.start": "开始使用",
    "cmd.help": "帮助",
    "cmd.status": "查询办理状态，如 /status 018",
    "status.usage": "请在 /status 后写上编号，例如：<code>/status 018</code>、<code>/status 第018号</code> 或 <code>/status 17-5-018</code>。",
    "status.malformed": "“{text}”不是有效的编号。请发送数字编号，例如 <code>018</code>、<code>第018号</code> 或 <code>17-5-018</code>。",
    "status.unknown": "没有找到编号为 {number} 的建议或提案。请核对编号，或加上届次，例如 <code>17-5-{number}</code>。",
    "status.unknown_session": "第 {term} 届第 {sitting} 次会议中没有编号为 {number} 的建议或提案。",
    "status.choose_session": "编号 {number} 在多个会次中都有，请选择：",
    "status.gone": "这条记录已不存在，请重新查询。",
    "card.kind_number": "{kind} 第 {number} 号",
    "card.session": "{region}{body}第{term}届第{sitting}次会议",
    "card.key_supervised": "（重点督办）",
    "card.title": "标题",
    "card.deputies": "领衔",
    "card.co_signers": "联名",
    "card.lead_unit": "主办单位",
    "card.co_units": "会办单位",
    "card.assigned_on": "交办日",
    "card.due_on": "答复期限",
    "card.state": "状态",
    "card.days_left": "剩余 {days} 天",
    "card.due_today": "今天到期",
    "card.overdue": "逾期 {days} 天",
    "card.extended": "（已延期，原期限 {original}）",
    "card.no_due": "未定",
    "card.reply": "答复",
    "card.reply_line": "{result}（{cls} 类），{date} 答复",
    "card.reply_signer": "签发人：{signer}",
    "card.reply_unit": "答复单位：{unit}",
    "card.reply_withheld": "答复不予公开。",
    "card.rating": "代表评价：{rating}",
    "card.summary": "摘要",
    "card.on_time": "按期答复",
    "card.late": "逾期 {days} 天答复",
    "card.calendar_missing": "⚠️ {year} 年节假日数据缺失，期限仅按周末推算",
    "card.item_withheld": "该件不予公开，仅相关代表、承办单位与管理员可见。",
    "button.timeline": "🕑 时间线",
    "button.full_reply": "📄 答复全文",
    "button.choose": "{label} · 第{number}号",
    "timeline.title": "<b>第 {number} 号 时间线</b>",
    "timeline.empty": "暂无记录。",
    "timeline.line": "{at} {action}{change}",
    "reply.none": "该件尚未登记答复。",
    "reply.withheld": "该答复不予公开。",
    "reply.full_caption": "第 {number} 号答复全文",
    "error.generic": "抱歉，处理您的消息时出错了，请稍后再试。管理员已收到记录。",
    "error.unknown_command": "不认识这个命令。发送 /help 查看可用命令。",
    "error.text_fallback": "请发送编号（如 018）查询办理进度，或发送 /help 查看全部命令。",
    "error.illegal_transition": "当前状态“{state}”下不能执行“{action}”。",
    "state.draft": "草稿",
    "state.assigned": "已交办",
    "state.in_progress": "办理中",
    "state.replied": "已答复",
    "state.closed": "已办结",
    "state.withdrawn": "已撤回",
    "state.rehandling": "重新办理",
    "state.tracking": "跟踪办理",
    "action.import": "导入",
    "action.assign": "交办",
    "action.start": "开始办理",
    "action.return": "退回",
    "action.reassign": "重新交办",
    "action.extend": "延期",
    "action.reply": "答复",
    "action.rate": "评价",
    "action.withdraw": "撤回",
    "action.rehandle": "重新办理",
    "action.close": "办结",
    "action.update": "更新",
    "body.人大": "人大",
    "body.政协": "政协",
    "role.lead": "主办",
    "role.co": "会办",
    "role.split": "分办",
    "rating.满意": "满意",
    "rating.基本满意": "基本满意",
    "rating.不满意": "不满意",
}

MESSAGES.update(
    {
        "cmd.bind": "生成代表或承办单位的绑定链接（管理员）",
        "cmd.unbind": "解除本账号的代表/单位绑定",
        "cmd.follow": "关注：/follow 018 | unit 单位名 | keyword 关键词 | session",
        "cmd.unfollow": "取消关注",
        "cmd.following": "我的关注",
        "auth.admin_only": "只有管理员可以使用 {command}。",
        "bind.usage": "用法：<code>/bind deputy:姓名</code> 或 <code>/bind unit:单位名称</code>",
        "bind.link": "已为{role}“{name}”生成一次性绑定链接，{days} 天内有效，只能使用一次：\n{link}",
        "bind.role.deputy": "代表",
        "bind.role.unit": "承办单位",
        "bind.done.deputy": "绑定成功：您现在是代表“{name}”。您关注的建议有进展时会收到提醒。发送 /unbind 可解除绑定。",
        "bind.done.unit": "绑定成功：您现在是“{name}”的承办人员，将在工作日收到答复期限提醒。发送 /unbind 可解除绑定。",
        "bind.unknown": "绑定链接无效。请向代表工作机构索取新的链接。",
        "bind.used": "该绑定链接已被使用过。请向代表工作机构索取新的链接。",
        "bind.expired": "该绑定链接已过期（有效期 7 天）。请向代表工作机构索取新的链接。",
        "bind.too_many": "尝试次数过多，请 {minutes} 分钟后再试。",
        "unbind.done": "已解除绑定。您仍可以查询公开的建议和提案。",
        "unbind.none": "您的账号没有绑定代表或承办单位。",
        "follow.usage": "用法：<code>/follow 018</code>、<code>/follow unit 单位名称</code>、<code>/follow keyword 关键词</code> 或 <code>/follow session</code>",
        "unfollow.usage": "用法：<code>/unfollow 018</code>、<code>/unfollow unit 单位名称</code>、<code>/unfollow keyword 关键词</code> 或 <code>/unfollow session</code>；也可在 /following 中点按钮取消。",
        "follow.done": "已关注{target}。有新进展时会通知您。",
        "follow.already": "您已经关注了{target}。",
        "unfollow.done": "已取消关注{target}。",
        "unfollow.none": "您没有关注{target}。",
        "follow.none": "您还没有关注任何内容。发送 <code>/follow 018</code> 关注一件建议。",
        "follow.list": "<b>我的关注</b>（点按钮取消关注）：",
        "follow.target.item": "第 {number} 号（{session}）",
        "follow.target.unit": "单位“{name}”",
        "follow.target.keyword": "关键词“{name}”",
        "follow.target.session": "{session}全部建议",
        "follow.no_session": "还没有任何会次的数据。",
        "follow.unknown_unit": "没有名为“{name}”的承办单位。",
        "button.follow": "⭐ 关注",
        "button.unfollow": "取消关注 {target}",
    }
)

MESSAGES.update(
    {
        "cmd.settings": "设置：语言、推送方式、免打扰时段",
        "settings.title": "<b>设置</b>\n语言：{language}\n推送方式：{digest}\n免打扰：{quiet}\n\n点按钮修改：",
        "settings.language.auto": "跟随 Telegram",
        "settings.language.zh": "简体中文",
        "settings.language.en": "English",
        "settings.digest.instant": "即时推送",
        "settings.digest.daily": "每日汇总（9:00）",
        "settings.digest.weekly": "每周汇总（周一 9:00）",
        "settings.quiet.off": "不设免打扰",
        "settings.quiet.range": "{start}–{end}",
        "settings.saved": "已保存。",
        "button.lang": "语言：{label}",
        "button.digest": "推送：{label}",
        "button.quiet": "免打扰：{label}",
    }
)
