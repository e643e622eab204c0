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
    "deliverable.count_below_due": Narrative(
        cause="供应商未按合同约定的周期编制和提交成果文件，项目单位缺少交付物清单和台账管理，对缺交情况未及时督促。",
        advice="建议项目单位依据合同建立交付物清单和提交台账，按周期核对交付情况，缺交的及时督促补交并按考核规则扣分，"
        "确保成果文件完整归档。",
    ),
    "evidence.obligation_unproven": Narrative(
        cause="项目单位对合同约定工作的过程留痕和成果归档重视不够，工作完成后未收集相应佐证材料，"
        "无法确认该项工作的完成情况。",
        advice="建议项目单位加强项目文档管理，对合同约定的每项工作明确成果形式和佐证材料要求，"
        "在验收和考核时逐项核对佐证材料，未提供佐证的不予认定完成。",
    ),
    "deliverable.late": Narrative(
        cause="供应商对报告提交时限重视不够，内部编制和审核耗时较长，项目单位对提交时限缺少提醒和考核，"
        "报告未能按时提交，不利于项目单位及时掌握运维情况。",
        advice="建议项目单位明确各类报告的提交时限，建立提交登记和到期提醒机制，将按时提交纳入考核并严格扣分；"
        "督促{vendor}优化报告编制流程，确保按规定时限提交。",
    ),
    "deliverable.below_target": Narrative(
        cause="绩效目标设置时未充分考虑项目实际实施周期和工作安排，实施过程中未对照绩效目标跟踪产出进度，"
        "数量指标未能完成。",
        advice="建议项目单位在实施过程中按绩效目标表定期跟踪产出完成进度，对进度滞后的及时督促纠偏；"
        "申报绩效目标时结合实施周期合理设置指标值。",
    ),
    "targets.not_prorated": Narrative(
        cause="项目单位申报绩效目标时按全年工作量设置指标值，未结合当年实际服务期折算，绩效目标与实施周期不匹配。",
        advice="建议项目单位按照完整性、相关性、全面性、可行性和可衡量性的原则设置绩效目标，"
        "结合当年实际实施周期折算数量指标值；实施周期发生变化的，及时申请调整绩效目标。",
    ),
    "inspection.late": Narrative(
        cause="巡检工作安排与驻场人员到岗时间衔接不紧，巡检记录依赖事后补录，项目单位未核查巡检的完成和登记时间，"
        "巡检情况未能及时反映与留档。",
        advice="建议项目单位督促{vendor}按巡检计划规定的时间完成巡检并及时登记，推行巡检记录系统化管理和自动留痕，"
        "定期抽查巡检记录的及时性和真实性。",
    ),
    "inspection.below_plan": Narrative(
        cause="巡检计划执行不到位，遇节假日调休、人员变动等情况未安排补检，项目单位未按周期核对巡检完成情况。",
        advice="建议项目单位按周期核对巡检计划的完成情况，对未完成的周期督促补检；"
        "{vendor}应合理安排巡检人员和时间，确保按计划足额完成巡检。",
    ),
    "fault.sla_breach": Narrative(
        cause="故障发生后响应、到场或处置不及时，供应商的应急响应机制和技术力量不足，项目单位对故障处理时效缺少监控。",
        advice="建议项目单位督促{vendor}完善故障分级响应和应急处置机制，按故障级别在合同时限内响应、到场和修复；"
        "对超时的故障逐一分析原因，并按合同扣减费用。",
    ),
    "fault.mtbf_below_target": Narrative(
        cause="系统运行中内部原因故障较多，预防性维护和隐患排查不到位，对故障原因缺少系统的分析和总结。",
        advice="建议项目单位督促{vendor}加强预防性维护和巡检，对内部原因故障逐一分析根因并制定整改措施，"
        "以知识库或技术文档的方式沉淀处置经验，降低故障发生频率。",
    ),
    "budget.adjustment_rate_high": Narrative(
        cause="预算编制时未充分考虑项目实际实施周期和合同付款安排，按全年或超出实际的期限编制预算，年中大幅调整预算。",
        advice="建议项目单位结合合同付款节点和实际实施周期科学编制预算，加强预算论证；"
        "预算确需调整的，及时按程序办理并说明原因。",
    ),
    "budget.execution_rate_low": Narrative(
        cause="项目资金支付进度滞后于预算安排，验收、付款条件与预算编制衔接不够。",
        advice="建议项目单位加强预算执行监控，按合同付款节点及时办理验收和支付，定期分析预算执行进度，"
        "对执行缓慢的及时采取措施。",
    ),
    "budget.arrival_rate_low": Narrative(
        cause="资金拨付与预算安排不同步，项目单位与财政部门的沟通协调不足，资金未能按计划到位。",
        advice="建议项目单位在预算执行过程中及时与财政部门沟通协调，按项目实施进度申请资金拨付，确保资金及时足额到位。",
    ),
    "budget.unit_rate_above_ceiling": Narrative(
        cause="预算测算时未严格按照预算编制标准确定人员费率，对高级别人员需求的必要性论证不足。",
        advice="建议项目单位严格依据预算编制规范和标准测算人员费率，按工作的复杂程度区分初级、中级、高级人员，"
        "超出标准的应说明理由并经论证。",
    ),
    "budget.calculation_slip": Narrative(
        cause="预算测算文件编制后未经复核，计算过程存在差错，造价审核和专家论证未形成书面意见。",
        advice="建议项目单位对预算测算文件进行复核，规范开展造价评估并形成书面评审意见，确保测算过程和计算结果准确。",
    ),
    "payment.weak_rule": Narrative(
        cause="合同签订时付款条款与考核结果挂钩不紧，全额支付门槛和最低支付比例设置不合理，"
        "考核难以对供应商形成有效约束。",
        advice="建议项目单位在合同中将费用支付与考核得分紧密挂钩，提高全额支付门槛，"
        "对服务严重不达标的情形约定不予支付或大幅扣减，发挥考核对履约质量的约束作用。",
    ),
    "assessment.cap_too_low": Narrative(
        cause="考核指标的扣分上限设置过低，工作未完成时扣分有限，考核力度不足。",
        advice="建议项目单位完善考核指标，按工作未完成的程度设置扣分，取消或提高扣分上限，确保未完成的工作不得分。",
    ),
    "survey.coverage_gap": Narrative(
        cause="满意度调查方案设计不够完善，未按合同要求覆盖各层级用户，调查样本和分析深度不足。",
        advice="建议项目单位督促{vendor}按合同要求设计满意度调查方案，覆盖各层级用户（{required}）并保证样本数量，"
        "深入分析不满意的原因并提出改进措施。",
    ),
    "documents.near_duplicate": Narrative(
        cause="两个合同的服务边界划分不够清晰，工作内容和成果物存在交叉，成果物的交付主体和责任归属未予明确。",
        advice="建议项目单位进一步明确各合同的服务边界和成果物清单，厘清交付主体和责任归属，"
        "避免同一成果在不同合同中重复提交、重复支付。",
    ),
}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


def render(text: str, *, vendor: str, contract: str, required: str) -> str:
    return text.format(vendor=vendor, contract=contract, required=required)
