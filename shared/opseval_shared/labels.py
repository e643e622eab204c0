"""What each kind of evidence is called in the documents evaluators read (and in the result's
warnings)."""

from __future__ import annotations

KIND_LABEL = {
    "roster_entry": "驻场人员名单",
    "clock_in": "考勤打卡记录",
    "deliverable_submitted": "交付文档",
    "inspection_done": "巡检记录",
    "training_held": "培训记录",
    "incident": "故障工单",
    "ticket_volume": "工单量统计",
    "survey_response": "满意度问卷",
    "budget_figure": "预算资金数据",
    "unit_rate": "预算单价",
    "budget_calculation": "预算测算过程",
    "vendor_assessment": "考核打分记录",
    "acceptance_result": "验收结果",
    "asset_count": "运维资产数量",
    "judgment": "评价组判定",
    "self_evaluation_row": "自评表填报",
    "retraction": "撤回记录",
}
