"""Synthetic proposal corpus for benchmarks: realistic Chinese term selectivity, deterministic per seed.

Words are drawn by the frequencies in jieba's own dictionary (roughly Zipf; the top 50k all-CJK words of two or
more characters), mixed with about 30 % domain words and unit names. Each item also has one or two topic words
that recur in its title, body and reply, the way real suggestions stay on subject, so a mid-frequency domain
word matches a few per cent of items rather than nearly all of them.

Sampling is vectorised with numpy: a cumulative-weight lookup table turns uniform integers into word indices
(one ``random.choices`` call per token costs about 1 µs here, far too slow for 100k items with ~200 tokens
each). Every chunk of items has its own seed, so ``generate(n)`` is a prefix of ``generate(m)`` for n < m.

Sessions and numbers: items fill blocks of 7,000 per region, round-robin over the 人大 (17th term) and 政协
(14th term) sessions of sittings 1–5, so a session has at most 700 items per pass over the 16 districts and
``(region, term, sitting, number)`` is unique for any n. Item 018 of 长宁区 人大 17-5 is item index 174.
"""

from __future__ import annotations

import functools
import importlib.resources
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

__all__ = ["CITY_UNITS", "DOMAIN_WORDS", "REGIONS", "UNIT_SUFFIXES", "SyntheticItem", "generate", "unit_names"]


@dataclass(frozen=True, slots=True)
class SyntheticItem:
    region: str
    term: int
    sitting: int
    number: str  # zero-padded as printed, e.g. "018"
    title: str
    content: str
    deputies: tuple[str, ...]  # lead deputy first, then co-signers
    lead_unit: str
    co_units: tuple[str, ...]
    assigned_on: date
    reply_text: str | None
    body: str = "人大"  # 人大 or 政协
    kind: str = "代表建议"  # 代表建议 or 政协提案


# ------------------------------------------------------------------------------------------ vocabularies

#: Domain words, most prominent first (sampled with Zipf weights by this rank).
DOMAIN_WORDS: tuple[str, ...] = tuple(
    [
        "社区",
        "居民",
        "物业",
        "民生",
        "公共服务",
        "养老服务",
        "城市更新",
        "老旧小区",
        "加装电梯",
        "停车难",
        "垃圾分类",
        "学区",
        "义务教育",
        "托育",
        "科创",
        "营商环境",
        "数字化转型",
        "基层治理",
        "家门口服务",
        "社区食堂",
        "医疗资源",
        "家庭医生",
        "卫生服务中心",
        "慢病管理",
        "长护险",
        "助餐点",
        "适老化改造",
        "无障碍设施",
        "非机动车",
        "电动自行车",
        "充电桩",
        "停车位",
        "共享单车",
        "公交线路",
        "地铁站",
        "慢行交通",
        "交通拥堵",
        "道路养护",
        "人行道",
        "架空线入地",
        "雨污混接",
        "排水管网",
        "积水点",
        "河道治理",
        "黑臭水体",
        "口袋公园",
        "绿地",
        "街心花园",
        "苏州河",
        "滨江贯通",
        "噪声扰民",
        "油烟污染",
        "建筑垃圾",
        "湿垃圾",
        "可回收物",
        "违法建筑",
        "群租",
        "旧住房改造",
        "成套改造",
        "保障性住房",
        "租赁住房",
        "人才公寓",
        "房屋修缮",
        "二次供水",
        "消防通道",
        "电梯维保",
        "高空抛物",
        "智慧社区",
        "一网通办",
        "一网统管",
        "大数据",
        "人工智能",
        "数字经济",
        "集成电路",
        "生物医药",
        "在线新经济",
        "航空服务",
        "虹桥枢纽",
        "国际贸易",
        "楼宇经济",
        "总部经济",
        "小微企业",
        "中小企业",
        "融资难",
        "稳岗就业",
        "灵活就业",
        "职业技能培训",
        "高校毕业生",
        "创新创业",
        "孵化器",
        "知识产权",
        "科技成果转化",
        "产学研",
        "研发投入",
        "专精特新",
        "营商服务",
        "政务服务",
        "审批流程",
        "公平竞争",
        "食品安全",
        "菜市场",
        "便民服务",
        "早餐工程",
        "夜间经济",
        "商圈",
        "步行街",
        "消费券",
        "文旅融合",
        "历史风貌区",
        "优秀历史建筑",
        "文物保护",
        "社区文化活动中心",
        "图书馆",
        "全民健身",
        "健身步道",
        "体育场馆",
        "校外培训",
        "课后服务",
        "托管服务",
        "双减",
        "课业负担",
        "学前教育",
        "幼儿园",
        "普惠托育",
        "特殊教育",
        "职业教育",
        "教师队伍",
        "校园安全",
        "心理健康",
        "青少年",
        "未成年人保护",
        "妇女儿童",
        "残疾人",
        "困难群众",
        "社会救助",
        "低保",
        "退役军人",
        "志愿服务",
        "社会组织",
        "居委会",
        "业委会",
        "物业管理",
        "维修资金",
        "住宅小区",
        "封闭管理",
        "电梯安全",
        "燃气安全",
        "安全生产",
        "应急管理",
        "防汛防台",
        "疫情防控",
        "公共卫生",
        "急救站",
        "中医药",
        "互联网医院",
        "医保支付",
        "药品集采",
        "检查检验结果互认",
        "健康管理",
        "老年大学",
        "长者照护之家",
        "日间照料",
        "嵌入式养老",
        "认知症",
        "护理员",
        "养老床位",
        "居家养老",
        "邻里中心",
        "15分钟生活圈",
        "城市微更新",
        "美丽街区",
        "精细化管理",
        "市容环境",
        "街面秩序",
        "占道经营",
        "环卫作业",
        "公厕",
        "绿化养护",
        "行道树",
        "碳达峰",
        "碳中和",
        "节能减排",
        "光伏",
        "新能源汽车",
        "生活垃圾",
        "社区团购",
        "外卖骑手",
        "新就业形态",
        "劳动权益",
        "欠薪",
        "法律援助",
        "矛盾调解",
        "信访",
        "网格化管理",
        "电信诈骗",
        "反诈宣传",
        "交通安全",
        "学校周边",
        "上下学接送",
        "垃圾箱房",
    ]
)

#: District-level handling units, as the part after the district name (长宁区 + 科学技术委员会).
UNIT_SUFFIXES: tuple[str, ...] = (
    "科学技术委员会",
    "教育局",
    "卫生健康委员会",
    "民政局",
    "住房保障和房屋管理局",
    "建设和管理委员会",
    "规划和自然资源局",
    "生态环境局",
    "绿化和市容管理局",
    "城市管理行政执法局",
    "市场监督管理局",
    "商务委员会",
    "发展和改革委员会",
    "财政局",
    "人力资源和社会保障局",
    "文化和旅游局",
    "体育局",
    "司法局",
    "应急管理局",
    "退役军人事务局",
    "医疗保障局",
    "国有资产监督管理委员会",
    "审计局",
    "统计局",
    "水务局",
    "投资促进办公室",
    "大数据中心",
    "妇女联合会",
    "残疾人联合会",
    "总工会",
    "团委",
    "红十字会",
    "地区办",
    "人民政府办公室",
    "公安分局",
)

#: City-level units that district items are also assigned to.
CITY_UNITS: tuple[str, ...] = (
    "上海市交通委员会",
    "上海市住房和城乡建设管理委员会",
    "上海申通地铁集团有限公司",
    "国网上海市电力公司",
    "上海市规划和自然资源局",
)

REGIONS: tuple[str, ...] = (
    "长宁区",
    "徐汇区",
    "黄浦区",
    "静安区",
    "普陀区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "浦东新区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明区",
)


@functools.cache
def unit_names(region: str) -> tuple[str, ...]:
    """The ~40 handling units an item of ``region`` can be assigned to."""
    return tuple(region + suffix for suffix in UNIT_SUFFIXES) + CITY_UNITS


_UNIT_MENTIONS: tuple[str, ...] = tuple("区" + s for s in UNIT_SUFFIXES) + CITY_UNITS
_PUNCTUATION: tuple[tuple[str, float], ...] = (("，", 0.10), ("。", 0.04), ("、", 0.01))

# Shares of word tokens (punctuation comes on top): about 30 % domain words, topic words and unit names.
_GENERAL_SHARE = 0.70
_DOMAIN_SHARE = 0.24
_TOPIC_SHARES = (0.025, 0.015)
_UNIT_SHARE = 0.02
_GENERAL_WORDS = 50_000
_TABLE_BITS = 20  # lookup-table resolution: word probabilities are quantised to 2**-20

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆"
    "汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤康詹"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国红梅志文海燕鹏辉婷雪琳晨宇浩然欣怡子涵俊杰思远嘉怡雨萱"
    "佳琪一鸣天佑永庆德胜立新卫东小龙晓峰慧君雅静春生秋实冬青振华兴邦恩镭蕾蓓莉萍颖瑜琦瑶璐婧"
)
_VERBS = (
    "加快推进",
    "进一步加强",
    "优化",
    "完善",
    "推动",
    "切实解决",
    "加强",
    "规范",
    "提升",
    "探索",
    "深化",
    "支持",
    "破解",
    "促进",
    "改善",
    "健全",
    "统筹推进",
    "着力破解",
)
_TITLE_NOUNS = ("工作", "机制", "体系", "建设", "管理", "服务", "问题", "水平", "能力", "试点", "保障", "标准", "治理")
_CONNECTORS = ("和", "与", "及")
_OPENINGS = (
    "近年来，{t0}问题日益受到群众关注，{t1}方面的诉求也较为集中。",
    "{t0}是民生领域的重要工作，也是{t1}的关键环节。",
    "当前，本区{t0}工作取得一定成效，但与{t1}相比仍存在不少短板。",
    "据调研，群众对{t0}反映强烈，{t1}亟待加强。",
    "{t0}关系千家万户，{t1}的推进情况直接影响群众获得感。",
)
_CLOSINGS = (
    "为此建议：{verb}{t0}，由{unit}牵头研究落实。",
    "建议{unit}会同相关部门{verb}{t0}，并做好{t1}的统筹衔接。",
    "建议将{t0}纳入年度重点工作，{verb}{t1}。",
)
_SESSIONS = tuple((body, sitting) for body in ("人大", "政协") for sitting in range(1, 6))
_BODY = {"人大": (17, "代表建议", "建议"), "政协": (14, "政协提案", "提案")}
_PER_SESSION = 700
_BLOCK = _PER_SESSION * len(_SESSIONS)
_CHUNK = 512
_PUNCT = "，、。"


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    tokens: npt.NDArray[np.object_]  # every sampleable string; the two topic slots are placeholders
    lengths: npt.NDArray[np.int64]
    table: npt.NDArray[np.int32]  # uniform _TABLE_BITS-bit integer -> token index
    general: npt.NDArray[np.object_]  # general words only, for title fillers
    general_table: npt.NDArray[np.int32]
    domain_offset: int
    topic_slots: tuple[int, int]
    punct_range: tuple[int, int]  # [first, last) token index of punctuation
    domain_cum: npt.NDArray[np.float64]


def _lookup_table(weights: Sequence[float] | npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    size = 1 << _TABLE_BITS
    points = (np.arange(size, dtype=np.float64) + 0.5) * (cum[-1] / size)
    table: npt.NDArray[np.int32] = np.searchsorted(cum, points, side="right").astype(np.int32)
    return table


# Lines are "word freq pos"; one regex pass over the whole file is several times faster than splitting lines.
_DICT_LINE = re.compile(r"^([\u4e00-\u9fff]{2,}) (\d+) ", re.MULTILINE)


def _jieba_words(limit: int) -> tuple[list[str], list[int]]:
    """The ``limit`` most frequent all-CJK words of two or more characters in jieba's dictionary."""
    text = importlib.resources.files("jieba").joinpath("dict.txt").read_text(encoding="utf-8")
    pairs = [(word, int(freq)) for word, freq in _DICT_LINE.findall(text)]
    pairs.sort(key=lambda pair: -pair[1])  # stable: ties keep dictionary order
    top = pairs[:limit]
    return [word for word, _ in top], [freq for _, freq in top]


@functools.cache
def _vocabulary() -> _Vocabulary:
    general, freqs = _jieba_words(_GENERAL_WORDS)
    general_p = np.asarray(freqs, dtype=np.float64)
    general_p /= general_p.sum()
    domain_p = 1.0 / np.arange(1, len(DOMAIN_WORDS) + 1, dtype=np.float64)
    domain_p /= domain_p.sum()
    word_share = 1.0 - sum(p for _, p in _PUNCTUATION)
    strings = [*general, *DOMAIN_WORDS, *_UNIT_MENTIONS, *(p for p, _ in _PUNCTUATION), "<t0>", "<t1>"]
    weights = np.concatenate(
        [
            general_p * _GENERAL_SHARE * word_share,
            domain_p * _DOMAIN_SHARE * word_share,
            np.full(len(_UNIT_MENTIONS), _UNIT_SHARE * word_share / len(_UNIT_MENTIONS)),
            [p for _, p in _PUNCTUATION],
            [share * word_share for share in _TOPIC_SHARES],
        ]
    )
    tokens = np.array(strings, dtype=object)
    return _Vocabulary(
        tokens=tokens,
        lengths=np.array([len(s) for s in strings], dtype=np.int64),
        table=_lookup_table(weights),
        general=np.array(general, dtype=object),
        general_table=_lookup_table(general_p),
        domain_offset=len(general),
        topic_slots=(len(strings) - 2, len(strings) - 1),
        punct_range=(len(strings) - 2 - len(_PUNCTUATION), len(strings) - 2),
        domain_cum=np.cumsum(domain_p),
    )


# -------------------------------------------------------------------------------------------- generation


def generate(n: int, *, seed: int = 0) -> Iterator[SyntheticItem]:
    """``n`` synthetic items, the same ones for the same seed; items are built lazily, chunk by chunk."""
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    return _generate(n, seed)


def _generate(n: int, seed: int) -> Iterator[SyntheticItem]:
    vocab = _vocabulary()
    for chunk in itertools.count():
        first = chunk * _CHUNK
        if first >= n:
            return
        yield from _chunk(vocab, seed, chunk, first, min(_CHUNK, n - first))


def _session_of(index: int) -> tuple[str, str, int, int]:
    """(region, body, sitting, number) of item ``index``: blocks per region, round-robin over sessions."""
    block, within = divmod(index, _BLOCK)
    rounds, region_i = divmod(block, len(REGIONS))
    body, sitting = _SESSIONS[within % len(_SESSIONS)]
    number = rounds * _PER_SESSION + within // len(_SESSIONS) + 1
    return REGIONS[region_i], body, sitting, number


def _texts(
    vocab: _Vocabulary,
    rng: np.random.Generator,
    targets: npt.NDArray[np.int64],
    topics: npt.NDArray[np.int64],
) -> list[str]:
    """One text per target length, cut from one token stream; topic slots become each text's own topics."""
    if len(targets) == 0:
        return []
    need = int(targets.sum()) + 8
    lo, hi = vocab.punct_range
    idx = np.empty(0, dtype=np.int64)
    # About two characters per token: draw roughly what is needed, top up in the rare short case.
    while int(vocab.lengths[idx].sum()) < need:
        drawn = vocab.table[rng.integers(0, 1 << _TABLE_BITS, size=need // 2 + 64, dtype=np.uint32)]
        idx = np.concatenate([idx, drawn.astype(np.int64)])
        is_punct = (idx >= lo) & (idx < hi)
        idx = idx[~(is_punct & np.concatenate([[False], is_punct[:-1]]))]  # no "，。" runs
    ends = np.searchsorted(np.cumsum(vocab.lengths[idx]), np.cumsum(targets), side="left") + 1
    starts = np.concatenate([[0], ends[:-1]])
    idx = idx[: ends[-1]]
    owner = np.repeat(np.arange(len(targets)), ends - starts)
    for slot, column in zip(vocab.topic_slots, (0, 1), strict=True):
        hit = idx == slot
        idx[hit] = vocab.domain_offset + topics[owner[hit], column]
    words = vocab.tokens[idx].tolist()
    return [
        "".join(words[start:end]).strip(_PUNCT) + "。"
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def _deputy_names(count: int, surnames: list[int], given: list[list[int]], single: list[bool]) -> tuple[str, ...]:
    """``count`` distinct names, lead deputy first: a surname and one or two given-name characters."""
    names = (
        _SURNAMES[surnames[k]] + _GIVEN[given[k][0]] + ("" if single[k] else _GIVEN[given[k][1]]) for k in range(count)
    )
    return tuple(dict.fromkeys(names))


def _chunk(vocab: _Vocabulary, seed: int, chunk: int, first: int, count: int) -> Iterator[SyntheticItem]:
    # Randomness is drawn for a full chunk whatever ``count`` is, so prefixes are stable. Arrays become lists
    # before the per-item loop: indexing numpy scalars one by one is several times slower.
    rng = np.random.default_rng([seed, chunk])
    size = _CHUNK
    n_domain = len(DOMAIN_WORDS)
    topic_arr = np.minimum(
        np.searchsorted(vocab.domain_cum, rng.random((size, 2)) * vocab.domain_cum[-1], side="right"), n_domain - 1
    ).astype(np.int64)
    same = topic_arr[:, 1] == topic_arr[:, 0]
    topic_arr[same, 1] = (topic_arr[same, 0] + 1) % n_domain
    two_topics = (rng.random(size) < 0.5).tolist()
    verbs = rng.integers(0, len(_VERBS), size=(size, 2)).tolist()
    nouns = rng.integers(0, len(_TITLE_NOUNS), size=size).tolist()
    connectors = rng.integers(0, len(_CONNECTORS), size=size).tolist()
    fillers = vocab.general[vocab.general_table[rng.integers(0, 1 << _TABLE_BITS, size=(size, 4), dtype=np.uint32)]]
    title_lengths = rng.integers(15, 31, size=size).tolist()
    openings = rng.integers(0, len(_OPENINGS), size=size).tolist()
    closings = rng.integers(0, len(_CLOSINGS), size=size).tolist()
    body_targets = rng.integers(165, 345, size=size)
    reply_mask = rng.random(size) < 0.6
    reply_targets = rng.integers(170, 250, size=size)
    deputy_counts = rng.choice(np.arange(1, 7), size=size, p=[0.45, 0.2, 0.12, 0.1, 0.08, 0.05]).tolist()
    surnames = rng.integers(0, len(_SURNAMES), size=(size, 6)).tolist()
    given = rng.integers(0, len(_GIVEN), size=(size, 6, 2)).tolist()
    single_given = (rng.random((size, 6)) < 0.3).tolist()
    unit_p = 1.0 / np.arange(1, len(UNIT_SUFFIXES) + len(CITY_UNITS) + 1) ** 0.8
    lead_units = rng.choice(len(unit_p), size=size, p=unit_p / unit_p.sum()).tolist()
    co_counts = rng.choice(4, size=size, p=[0.5, 0.3, 0.15, 0.05]).tolist()
    co_picks = rng.integers(0, len(unit_p), size=(size, 3)).tolist()
    assigned_offsets = rng.integers(30, 76, size=size).tolist()
    reply_offsets = rng.integers(40, 101, size=size).tolist()
    mention_units = rng.integers(0, len(_UNIT_MENTIONS), size=size).tolist()

    bodies = _texts(vocab, rng, body_targets, topic_arr)
    # Only items with a reply get reply text; -1 marks the others.
    reply_rows = np.flatnonzero(reply_mask)
    reply_slot = np.full(size, -1, dtype=np.int64)
    reply_slot[reply_rows] = np.arange(len(reply_rows))
    replies = _texts(vocab, rng, reply_targets[reply_rows], topic_arr[reply_rows])
    reply_of = reply_slot.tolist()
    topics = topic_arr.tolist()
    filler_words = fillers.tolist()

    for i in range(count):
        region, body, sitting, number = _session_of(first + i)
        term, kind, suffix = _BODY[body]
        t0, t1 = DOMAIN_WORDS[topics[i][0]], DOMAIN_WORDS[topics[i][1]]
        title = _title(
            title_lengths[i],
            _VERBS[verbs[i][0]],
            t0,
            _CONNECTORS[connectors[i]] + t1 if two_topics[i] else "",
            _TITLE_NOUNS[nouns[i]],
            filler_words[i],
            f"的{suffix}",
        )
        units = unit_names(region)
        lead = units[lead_units[i]]
        co_units = tuple(dict.fromkeys(units[j] for j in co_picks[i][: co_counts[i]] if units[j] != lead))
        deputies = _deputy_names(deputy_counts[i], surnames[i], given[i], single_given[i])
        content = (
            _OPENINGS[openings[i]].format(t0=t0, t1=t1)
            + bodies[i]
            + _CLOSINGS[closings[i]].format(
                verb=_VERBS[verbs[i][1]], t0=t0, t1=t1, unit=_UNIT_MENTIONS[mention_units[i]]
            )
        )
        assigned_on = _opened_on(body, sitting) + timedelta(days=assigned_offsets[i])
        reply_text = None
        if reply_of[i] >= 0:
            replied_on = assigned_on + timedelta(days=reply_offsets[i])
            reply_text = (
                f"{deputies[0]}{'代表' if body == '人大' else '委员'}：\n　　您提出的《{title}》收悉。"
                f"经研究，现答复如下：\n　　{replies[reply_of[i]]}\n　　感谢您对{t0}工作的关心和支持。\n"
                f"{lead}\n{replied_on.year}年{replied_on.month}月{replied_on.day}日"
            )
        yield SyntheticItem(
            region=region,
            term=term,
            sitting=sitting,
            number=f"{number:03d}",
            title=title,
            content=content,
            deputies=deputies,
            lead_unit=lead,
            co_units=co_units,
            assigned_on=assigned_on,
            reply_text=reply_text,
            body=body,
            kind=kind,
        )


@functools.cache
def _opened_on(body: str, sitting: int) -> date:
    """The sitting's opening day: the 17th 长宁区 congress held its 5th sitting in January 2024."""
    return date(2019 + sitting, 1, 8 if body == "人大" else 6)


def _title(length: int, verb: str, topic: str, second: str, noun: str, fillers: list[str], suffix: str) -> str:
    """关于{verb}{topic}[和{topic2}]{noun}的建议, padded with general words towards ``length`` (15–30) chars."""
    head, tail = "关于" + verb + topic + second, noun + suffix
    middle = ""
    for filler in fillers:
        if len(head) + len(middle) + len(filler) + len(tail) > max(length, 15) and len(head + middle + tail) >= 15:
            break
        middle += filler
    title = head + middle + tail
    return title if len(title) <= 30 else "关于" + verb + topic + tail
