"""原因分析 (cause) and 建议 (advice) of every rule, as the field's evaluators write them (seed 002's
问题/建议 chapters, 001's 存在的主要问题 and 下一步改进措施, 004's 存在的问题及原因分析 and 有关建议).

Data beside the rules, one entry per rule id; the report's 存在的问题及原因分析 and 有关建议
chapters use them. A text may name values of the finding's contract: {vendor} (the contract's
vendor, or 供应商 for a finding of no contract), {contract} (the contract's name, or 项目) and
{required} (what the finding says is required).
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

PLACEHOLDERS = frozenset({"vendor", "contract", "required"})


@dataclass(frozen=True)
class Narrative:
    cause: str
    advice: str


NARRATIVES: dict[str, Narrative] = {
    "staff.names_mismatch": Narrative(
        cause="项目单位在供应商人员入场时未对照投标文件核验驻场人员名单，供应商更换驻场人员未履行书面报批手续，"
        "人员变更缺乏管控，投标承诺未落实到履约环节。",
        advice="建议项目单位在人员入场时对照投标文件逐一核验驻场人员的姓名、岗位、学历、工作年限和资格证书；"
        "确需更换人员的，应要求{vendor}书面申请并经同意，替换人员资质不得低于原承诺人员；"
        "将驻场人员与投标承诺的一致性纳入考核，并与费用支付挂钩。",
    ),
    "staff.required_role_absent": Narrative(
        cause="项目单位对招标文件中需实质响应的岗位要求缺少跟踪核查，供应商按自身人力安排调配驻场人员，"
        "未按岗位要求配置，履约监管不到位。",
        advice="建议项目单位对照招标文件和合同梳理须实质响应的岗位清单，在人员入场和每期考核时逐项核查岗位配置；"
        "岗位缺失的，要求{vendor}限期补齐，并按合同约定扣减相应费用。",
    ),
    "staff.role_mix_deviation": Narrative(
        cause="驻场人员的岗位结构随实际工作重心调整，但调整未经项目单位审核确认，也未相应变更服务方案，"
        "实际岗位结构与投标承诺脱节。",
        advice="建议项目单位按投标文件承诺的岗位结构核定驻场人员配置；因工作内容变化确需调整岗位结构的，"
        "应经书面审批，并相应调整服务方案和费用测算，明确各岗位的职责与工作量。",
    ),
    "staff.qualification_shortfall": Narrative(
        cause="项目单位对驻场人员的学历、工作年限和资格证书缺少入场审核和定期复核，"
        "供应商以资历较浅的人员替代投标承诺人员，资质缩水未被及时发现。",
        advice="建议项目单位在人员入场时审核驻场人员的学历、工作年限和资格证书等证明材料并存档、定期复核；"
        "对不满足合同和投标承诺资质要求的人员，要求{vendor}限期更换，并将人员资质纳入考核。",
    ),
    "staff.onsite_period_incomplete": Narrative(
        cause="驻场人员到岗时间晚于服务期开始时间或中途离岗，项目单位未以考勤记录核对驻场时间，"
        "对驻场履约情况缺少过程监督。",
        advice="建议项目单位按月核对驻场人员打卡记录，确保{required}；对驻场时间不足的人员按合同扣减费用，"
        "并要求{vendor}说明原因、及时补足人员。",
    ),
    "training.below_duty": Narrative(
        cause="供应商对合同约定的培训工作重视不够，未按合同要求的频次和范围制定培训计划，"
        "项目单位未对培训开展情况进行跟踪和考核。",
        advice="建议项目单位督促{vendor}按合同要求（{required}）制定培训计划，明确培训的频次、范围和对象，"
        "留存签到表、课件和培训记录，并将培训完成情况纳入考核。",
    ),
    "score.contradicts_attendance": Narrative(
        cause="考核打分未以打卡记录等客观数据为依据，评分凭印象给出，考核流于形式，考核结果与实际履约情况不符。",
        advice="建议项目单位在考核时调取打卡记录等客观数据，按考核规则对迟到、缺勤逐次扣分，"
        "并在考核打分表中注明扣分依据；考核结果作为费用支付的依据。",
    ),
    "assessment.rater_divergence": Narrative(
        cause="考核指标的评分标准不够明确，多名评价者对评分尺度理解不一致，且打分时未记录依据，"
        "对同一指标的评分差异较大，打分过程主观性较强。",
        advice="建议项目单位细化考核指标的评分标准和扣分情形，评分前统一评分尺度；"
        "要求评价者在打分表中注明扣分理由和依据，评分差异较大时复核并说明。",
    ),
    "assessment.deduction_off_rule": Narrative(
        cause="评价者未严格按考核规则打分，考核规则的扣分档次未在打分表中列明，项目单位对打分结果缺少复核。",
        advice="建议项目单位将考核规则的扣分档次列入考核打分表，评分完成后复核扣分是否符合规则，"
        "对不符合规则的打分予以纠正。",
    ),
    "evidence.unsupported_deduction": Narrative(
        cause="考核过程未同步收集客户投诉、质量事故、变更等事项的记录，打分表只记录分数，扣分依据无从追溯。",
        advice="建议项目单位在考核打分时附上扣分事项的次数、时间、情况和处理结果等直接佐证材料，"
        "打分表由评价人签字确认并归档，确保扣分有据可查。",
    ),
    "score.contradicts_evidence": Narrative(
        cause="自评未以实际数据为依据，按目标值直接填报完成值，缺少计算过程和佐证材料，自评结果失真。",
        advice="建议项目单位依据实际数据计算自评指标的完成值，列明计算过程并附上直接佐证材料；"
        "未达到目标值的指标如实填报，并分析偏差原因、提出改进措施。",
    ),
    "self_eval.table_mismatch": Narrative(
        cause="项目单位在绩效自评时未以批复的绩效目标表为依据，自行增减指标或调整指标值，自评与绩效目标管理脱节。",
        advice="建议项目单位严格按照批复的绩效目标表开展自评，不擅自增减指标或调整指标值；"
        "确需调整的，按程序申请调整绩效目标。",
    ),
}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


def render(text: str, *, vendor: str, contract: str, required: str) -> str:
    return text.format(vendor=vendor, contract=contract, required=required)
