"""Demo data for the sandbox: item 018 with the seed letter as its reply, and a dozen items in every state.

Each item is a small script of dated steps. Only the steps on or before the virtual "today" are applied, so
`sandbox --demo --at 2024-03-25` shows 018 still awaiting its reply, while a later date shows it replied.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from importlib import resources
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.clock import WorkCalendar, due_day
from bot.domain.lifecycle import Action, State, transition
from bot.domain.lookup import number_key
from bot.services.events import event_record
from config.settings import Jurisdiction
from storage.proposals import (
    ProposalRecord,
    SessionKey,
    extend_due,
    restart_clock,
    set_state,
    upsert_proposal,
)
from storage.replies import ReplyRecord, add_feedback, add_reply

CHANGNING_17_5 = SessionKey(region="长宁区", body="人大", term=17, sitting=5)
CHANGNING_17_4 = SessionKey(region="长宁区", body="人大", term=17, sitting=4)
CHANGNING_CPPCC = SessionKey(region="长宁区", body="政协", term=15, sitting=3)
ASSIGNED = date(2024, 1, 29)
ACTOR = "demo"

SEED_SUMMARY = (
    "区政府已通过并发布《长宁区全面推进“上海硅巷”科创街区建设三年行动方案》，重点实施6大专项12个子项行动；"
    "出台科技创新政策措施，组建工作专班，完善“1+11+11”企业服务体系，成立区科技金融创新服务联盟。"
)


def seed_letter_text() -> str:
    return resources.files("bot.sandbox").joinpath("seed_letter.txt").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Step:
    """One dated step of an item's history: a lifecycle action, a reply, a rating or an extension."""

    on: date
    action: Action
    reply: ReplyRecord | None = None
    rating: str | None = None
    extend_months: int | None = None


@dataclass(frozen=True, slots=True)
class DemoItem:
    record: ProposalRecord
    steps: tuple[Step, ...] = field(default_factory=tuple)


def _item(
    number: str,
    title: str,
    deputy: str,
    unit: str | None,
    *,
    session: SessionKey = CHANGNING_17_5,
    co_signers: tuple[str, ...] = (),
    co_units: tuple[str, ...] = (),
    assigned_on: date | None = ASSIGNED,
    kind: str = "代表建议",
    key_supervised: bool = False,
    public: bool = True,
    content: str = "",
) -> ProposalRecord:
    return ProposalRecord(
        session=session,
        number=number,
        number_key=number_key(number),
        title=title,
        kind=kind,
        content=content or f"{title}。建议相关部门加强调研，明确责任分工，制定计划，推动落实。",
        deputies=(deputy,),
        co_signers=co_signers,
        lead_unit=unit,
        co_units=co_units,
        assigned_on=assigned_on if unit else None,
        key_supervised=key_supervised,
        public=public,
    )


def _reply(
    unit: str, result: str, cls: str, on: date, signer: str, *, public: bool = True, body: str = ""
) -> ReplyRecord:
    text = body or f"关于该建议的答复：经研究，办理结果为{result}。我们将继续跟进落实，感谢您对我区工作的关心和支持。"
    return ReplyRecord(
        unit=unit,
        result_text=result,
        result_class=cls,
        signer=signer,
        replied_on=on,
        public=public,
        summary=text[:120],
        body=text,
    )


SCIENCE = "长宁区科学技术委员会"


def demo_items() -> list[DemoItem]:
    seed = seed_letter_text()
    seed_reply = ReplyRecord(
        unit=SCIENCE,
        result_text="解决或采纳",
        result_class="A",
        signer="詹镭",
        replied_on=date(2024, 4, 29),
        public=True,
        contact_name="洪嫣",
        contact_phone="52388345",
        contact_address="安西路 35号",
        contact_postcode="200050",
        summary=SEED_SUMMARY,
        body=seed,
        file_name="018-答复.txt",
        file_data=seed.encode("utf-8"),
    )
    return [
        DemoItem(
            _item(
                "018",
                "关于高标准打造“上海硅巷”科创街区，加速集聚科创型企业的建议",
                "康红恩",
                SCIENCE,
                co_units=("区规资局", "区建管委", "区投促办", "虹桥办", "华阳路街道办事处", "区发改委"),
                content="建议高标准打造“上海硅巷”科创街区，加大政策供给，推进“一楼一策”，创新投融资模式。",
            ),
            (Step(date(2024, 2, 5), Action.start), Step(date(2024, 4, 29), Action.reply, reply=seed_reply)),
        ),
        DemoItem(
            _item("001", "关于加快推进老旧小区加装电梯的建议", "王建国", "区住房保障房屋管理局", co_signers=("李梅",)),
            (
                Step(date(2024, 2, 1), Action.start),
                Step(
                    date(2024, 4, 19),
                    Action.reply,
                    reply=_reply("区住房保障房屋管理局", "正在解决", "B", date(2024, 4, 19), "周立"),
                ),
            ),
        ),
        DemoItem(
            _item("002", "关于缓解学校周边停车难问题的建议", "李梅", "区建管委", co_units=("区教育局",)),
            (Step(date(2024, 2, 20), Action.start),),
        ),
        DemoItem(_item("003", "关于完善社区嵌入式养老服务设施的建议", "张伟", "区民政局")),
        DemoItem(
            _item("004", "关于推进垃圾分类精细化管理的建议", "陈静", "区绿化市容局"),
            (
                Step(
                    date(2024, 4, 10),
                    Action.reply,
                    reply=_reply("区绿化市容局", "因条件限制无法解决", "C", date(2024, 4, 10), "孙华"),
                ),
                Step(date(2024, 4, 20), Action.rate, rating="不满意"),
            ),
        ),
        DemoItem(
            _item("005", "关于优化71路中运量公交接驳线路的建议", "刘洋", "区交通委"),
            (
                Step(
                    date(2024, 3, 28),
                    Action.reply,
                    reply=_reply("区交通委", "解决或采纳", "A", date(2024, 3, 28), "吴刚"),
                ),
                Step(date(2024, 4, 8), Action.rate, rating="满意"),
            ),
        ),
        DemoItem(_item("006", "关于增设社区口袋公园的建议", "赵敏", None)),
        DemoItem(
            _item("007", "关于调整菜场营业时间的建议", "周强", "区商务委"),
            (Step(date(2024, 1, 30), Action.withdraw),),
        ),
        DemoItem(
            _item("008", "关于某重点企业用地调整的建议", "钱丽", "区规资局", public=True),
            (
                Step(
                    date(2024, 4, 25),
                    Action.reply,
                    reply=_reply("区规资局", "列入计划拟解决", "B", date(2024, 4, 25), "郑伟", public=False),
                ),
            ),
        ),
        DemoItem(
            _item("009", "关于苏州河长宁段滨水空间贯通的建议", "孙燕", "区建管委", co_units=("区文旅局",)),
            (Step(date(2024, 2, 10), Action.start), Step(date(2024, 4, 15), Action.extend, extend_months=6)),
        ),
        DemoItem(
            _item(
                "010",
                "关于加强中小学心理健康教育的建议",
                "马骏",
                "区教育局",
                key_supervised=True,
                assigned_on=date(2024, 3, 1),
            ),
            (Step(date(2024, 3, 5), Action.start),),
        ),
        DemoItem(_item("021", "关于完善虹桥路沿线慢行系统的建议", "何平", "区建管委")),
        DemoItem(
            _item(
                "021",
                "关于提升社区卫生服务中心服务能力的建议",
                "胡敏",
                "区卫健委",
                session=CHANGNING_17_4,
                assigned_on=date(2023, 2, 6),
            ),
            (
                Step(
                    date(2023, 5, 4),
                    Action.reply,
                    reply=_reply("区卫健委", "解决或采纳", "A", date(2023, 5, 4), "林峰"),
                ),
            ),
        ),
        DemoItem(
            _item(
                "015",
                "关于支持“硅巷”青年创新人才安居的提案",
                "徐晓",
                "区住房保障房屋管理局",
                session=CHANGNING_CPPCC,
                kind="政协提案",
            ),
            (Step(date(2024, 2, 2), Action.start),),
        ),
    ]


def _moment(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=tz).astimezone(UTC)


async def load_demo(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    calendar: WorkCalendar,
    profile: Jurisdiction,
    today: date,
    tz: ZoneInfo,
) -> int:
    """Load every demo item, applying only the steps dated on or before `today`. Returns the item count."""
    count = 0
    async with sessionmaker.begin() as session:
        for item in demo_items():
            record = item.record
            if record.assigned_on and record.assigned_on > today:
                continue
            if record.assigned_on:
                due = due_day(record.assigned_on, months=profile.reply_months, calendar=calendar).day
                co_due = due_day(record.assigned_on, months=profile.co_opinion_months, calendar=calendar).day
                record = replace(record, due_on=due, co_due_on=co_due)
            assigned = bool(record.lead_unit and record.assigned_on)
            result = await upsert_proposal(
                session, record, now=_moment(record.assigned_on or today, tz), initial_state="draft"
            )
            state = State.draft
            if assigned and record.assigned_on:
                step = transition(state, Action.assign, at=_moment(record.assigned_on, tz), actor=ACTOR)
                await set_state(session, proposal_id=result.proposal_id, state=step.after, event=event_record(step))
                state = step.after
            reply_id: int | None = None
            reply_class: str | None = None
            for step_def in item.steps:
                if step_def.on > today:
                    break
                at = _moment(step_def.on, tz)
                if step_def.action is Action.reply and step_def.reply is not None:
                    reply = await add_reply(session, proposal_id=result.proposal_id, record=step_def.reply, now=at)
                    reply_id, reply_class = reply.id, step_def.reply.result_class
                    step = transition(state, Action.reply, at=at, actor=ACTOR, result_class=reply_class)
                    await set_state(session, proposal_id=result.proposal_id, state=step.after, event=event_record(step))
                elif step_def.action is Action.rate and reply_id is not None and step_def.rating:
                    await add_feedback(
                        session, reply_id=reply_id, proposal_id=result.proposal_id, rating=step_def.rating, now=at
                    )
                    step = transition(state, Action.rate, at=at, actor=ACTOR, rating=step_def.rating)
                    if step.after is State.rehandling:
                        new_due = due_day(step_def.on, months=profile.rehandling_months, calendar=calendar).day
                        await restart_clock(
                            session,
                            proposal_id=result.proposal_id,
                            due_on=new_due,
                            state=step.after,
                            event=event_record(step, rating=step_def.rating),
                        )
                    else:
                        await set_state(
                            session,
                            proposal_id=result.proposal_id,
                            state=step.after,
                            event=event_record(step, rating=step_def.rating),
                        )
                elif step_def.action is Action.extend and step_def.extend_months and record.assigned_on:
                    step = transition(state, Action.extend, at=at, actor=ACTOR)
                    new_due = due_day(record.assigned_on, months=step_def.extend_months, calendar=calendar).day
                    await extend_due(
                        session,
                        proposal_id=result.proposal_id,
                        due_on=new_due,
                        event=event_record(step, due_on=new_due.isoformat()),
                    )
                else:
                    step = transition(state, step_def.action, at=at, actor=ACTOR)
                    await set_state(session, proposal_id=result.proposal_id, state=step.after, event=event_record(step))
                state = step.after
            count += 1
    return count
