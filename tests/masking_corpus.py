"""The masking corpus: contact details a teenager would try to pass (must be masked) and
ordinary school texts (must pass untouched). `python -m tests.masking_corpus` prints the figures
quoted in README ("Security")."""
from __future__ import annotations

import itertools

# Each contact case is (text, the secret that must not survive, read without separators).
PHONE = "13800138000"
HAND_CONTACTS: list[tuple[str, str]] = [
    ("我的手机是13800138000", PHONE), ("打 138-0013-8000 找我", PHONE), ("电话 +86 139 1234 5678", "13912345678"),
    ("全角１３８００１３８０００也不行", PHONE), ("座机010-62751234", "62751234"), ("座机 (0571) 8888 1234", "88881234"),
    ("加我微信 abc_12345", "abc12345"), ("vx：zhangsan2010", "zhangsan2010"), ("我QQ号是 123456789", "123456789"),
    ("邮箱 kid2010@example.com", "kid2010"), ("我家在中关村大街27号", "大街27号"), ("住3号楼2单元", "3号楼2单元"),
    ("一三八零零一三八零零零", PHONE), ("幺三八 洞洞幺三 八洞洞洞", PHONE), ("壹叁捌零零壹叁捌零零零", PHONE),
    ("1 3 8 0 0 1 3 8 0 0 0", PHONE), ("138/0013/8000", PHONE), ("138_0013_8000", PHONE), ("138,0013,8000", PHONE),
    ("138.0013.8000", PHONE), ("1\u200b3\u200b8\u200b0\u200b0\u200b1\u200b3\u200b8\u200b0\u200b0\u200b0", PHONE),
    ("138\u200d0013\u200c8000", PHONE), ("薇 / 微 信 zhang_san_2010", "zhangsan2010"), ("微 信：lily20100101", "lily20100101"),
    ("薇信 xiaoming_666", "xiaoming666"), ("扣扣 12345678", "12345678"), ("扣扣号：987654321", "987654321"),
    ("Q号 55667788", "55667788"), ("q:55667788", "55667788"), ("kid2010 (at) qq dot com", "kid2010"),
    ("kid2010(at)163.com", "kid2010"), ("kid2010 [at] gmail [dot] com", "kid2010"), ("kid2010艾特qq点com", "kid2010"),
    ("kid2010＠１６３．ｃｏｍ", "kid2010"), ("企鹅 246813579", "246813579"), ("球球 11223344", "11223344"),
    ("123456789@qq.com 发我", "123456789"), ("我扣扣是1 2 3 4 5 6 7 8", "12345678"), ("wx: lucky_star_08", "luckystar08"),
    ("WeChat: tom_2009_bj", "tom2009bj"), ("my wechat is tommy2009", "tommy2009"), ("add me on wechat tommy2009", "tommy2009"),
    ("v信 mm20091212", "mm20091212"), ("V:abc123456", "abc123456"), ("微:sunny2010x", "sunny2010x"),
    ("抖音号 dy_2010_kid", "dy2010kid"), ("快手号：ks88776655", "ks88776655"), ("小红书 id: xhs_20101010", "xhs20101010"),
    ("ins: jenny_0808_ok", "jenny0808ok"), ("telegram @jack_2010_x", "jack2010x"), ("加我 lily_2010_bj", "lily2010bj"),
    ("私聊我 13800138000", PHONE), ("我手机号 159-1234-5678", "15912345678"), ("call me 186 1111 2222", "18611112222"),
    ("text me 1860000 1111", "18600001111"), ("联系电话:18612345678", "18612345678"), ("tel 021-12345678", "12345678"),
    ("我的号 177 7777 7777", "17777777777"), ("一八六 一二三四 五六七八", "18612345678"), ("①③⑧⓪⓪①③⑧⓪⓪⓪", "138001380"),
    ("身份证 110101200801011234", "110101200801011234"), ("身份证号 11010120080101123X", "11010120080101123"),
    ("我住在阳光小区5栋302", "5栋302"), ("朝阳区建国路88号", "建国路88号"), ("海淀区学院路 30 号", "30"),
    ("3单元502室", "3单元502"), ("7号楼1单元101", "7号楼1单元101"), ("幸福花园8号楼", "8号楼"),
    ("扣 扣 12345678", "12345678"), ("Q Q 12345678", "12345678"), ("qq:１２３４５６７８", "12345678"),
    ("威信 ab_cd_1234", "abcd1234"), ("wei xin? weixin: pp2010pp", "pp2010pp"), ("vx 13800138000", PHONE),
    ("拨 13800,138000", PHONE), ("138 001 38000", PHONE), ("1380 0138 000", PHONE), ("138-001-38000", PHONE),
    ("手机 138 0013 8000 晚上打", PHONE), ("电话是：010 6275 1234", "62751234"), ("0755-86013388", "86013388"),
    ("kid.lee@school.edu.cn", "kid.lee"), ("lily_2010@163.com", "lily"), ("zhang san at gmail dot com", "gmail"),
    ("discord: gamer_2010_x", "gamer2010x"), ("b站 up2010abc", "up2010abc"), ("微博 @xiaoyu_2010", "xiaoyu2010"),
    ("加个好友 qqq2010aaa", "qqq2010aaa"), ("加一下 18812345678", "18812345678"), ("找我 hh123456hh", "hh123456hh"),
]

_PHONES = ["13800138000", "15912345678", "18611112222", "17755556666"]
_CN = dict(zip("0123456789", "零一二三四五六七八九"))


def _renderings(n: str) -> list[str]:
    a, b, c = n[:3], n[3:7], n[7:]
    return [n, f"{a} {b} {c}", f"{a}-{b}-{c}", f"{a}/{b}/{c}", f"{a}_{b}_{c}", f"{a},{b},{c}", f"{a}.{b}.{c}",
            " ".join(n), "".join(_CN[d] for d in n), "".join(chr(ord("０") + int(d)) for d in n),
            "\u200b".join(n), f"+86 {a} {b} {c}", f"{a}·{b}·{c}", f"{a}～{b}～{c}"]


_LEADS = ["我的电话 ", "记一下：", "", "加我 "]
GENERATED: list[tuple[str, str]] = [(lead + r, p) for (p, lead) in zip(_PHONES, _LEADS) for r in _renderings(p)]
GENERATED += [(f"{k} {n}", n) for k, n in itertools.product(["QQ", "qq号", "扣扣", "企鹅号", "Q号:"], ["246813579", "10086100"])]
GENERATED += [(f"{k} {i}", i.replace("_", "")) for k, i in itertools.product(
    ["微信", "薇信", "vx", "wx:", "微 信", "WeChat"], ["kid_2010_lee", "abc123456"])]
CONTACTS: list[tuple[str, str]] = HAND_CONTACTS + GENERATED

ORDINARY: list[str] = [
    "x² + 5x + 6 = 0 的解是 -2 和 -3", "电功率 P = UI = 220V × 5A = 1100W", "第3题答案是 12345", "2026年11月25日",
    "解方程 3x - 7 = 2x + 5，得 x = 12", "二次函数 y = x² - 4x + 3 的顶点是 (2, -1)", "sin30° = 1/2，cos60° = 0.5",
    "光速约为 3.0 × 10^8 m/s", "重力加速度 g = 9.8 m/s²", "电子电荷 e = 1.6 × 10^-19 C", "q = 1.60217 × 10^-19 C",
    "阿伏伽德罗常数 6.02 × 10^23 mol^-1", "H2SO4 + 2NaOH = Na2SO4 + 2H2O", "CaCO3 高温分解生成 CaO 和 CO2",
    "2KMnO4 = K2MnO4 + MnO2 + O2↑", "Fe + CuSO4 = FeSO4 + Cu", "C6H12O6 是葡萄糖", "NH4NO3 溶于水吸热",
    "第 138 页第 12 题", "课本第25页例2", "练习册 P38 第 5、6、7 题", "第一章第三节", "第十二题不会做",
    "作业：P12-P15，第1-8题", "2026-11-25 星期三", "11/25/2026", "2026.11.25 考试", "考试时间 18:30-20:00",
    "数列 1, 3, 5, 7, 9, 11, 13, 15, 17, 19", "斐波那契数列 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89",
    "质数：2 3 5 7 11 13 17 19 23 29", "π ≈ 3.14159265358979", "√2 ≈ 1.41421356", "e ≈ 2.718281828",
    "宇宙年龄约 13,800,000,000 年", "中国人口约 1,411,780,000 人", "地球到太阳约 149,600,000 km",
    "光速 299,792,458 m/s", "1 + 1 = 2", "12 × 12 = 144", "100 ÷ 4 = 25", "a² + b² = c²，3² + 4² = 5²",
    "v = v0 + at，v0 = 5 m/s，a = 2 m/s²", "v = 10 m/s, t = 3 s", "动能 Ek = ½mv²", "F = ma = 2 kg × 3 m/s² = 6 N",
    "电阻 R = U / I = 12V / 0.5A = 24Ω", "密度 ρ = 1.0 × 10³ kg/m³", "压强 p = 1.013 × 10^5 Pa", "功 W = Fs = 50 N × 4 m",
    "比热容 c = 4.2 × 10³ J/(kg·℃)", "微积分是高中以后才学的", "微生物分解有机物", "微观粒子", "微米是长度单位",
    "卫星绕地球运行的速度是 7.9 km/s", "1 微米 = 10^-6 米", "我用微信看了老师发的作业", "QQ 空间里有班级相册吗",
    "电话机的原理是电磁感应", "手机电池容量 4000mAh", "手机的功率大约是 5W", "我没有手机", "Do you use WeChat every day?",
    "I use WeChat every day since 2020.", "My phone is broken.", "Please call me Lily.", "The line AB is 12 cm long.",
    "Q: What is 2 + 2? A: 4", "Question 15: choose the best answer", "Unit 3 Section B 2a", "page 45, exercise 3b",
    "He was born in 1998 and moved in 2008.", "The population grew from 1,200 to 3,400.", "I have 3 brothers.",
    "vocabulary: weather, whether, wether", "Translate: 我每天早上7点起床", "一元二次方程", "一二三四五六七八九十",
    "三角形内角和是 180°", "正方形边长 4 cm，面积 16 cm²", "长方体体积 V = 3 × 4 × 5 = 60 cm³", "一栋楼有18层，每层3米",
    "小明家住在5楼", "一个班有45人，男生23人", "时针从3点走到9点", "鸡兔同笼：35个头，94只脚", "甲乙两地相距 360 km",
    "第二次世界大战 1939—1945", "辛亥革命 1911 年", "公元前 221 年秦统一六国", "明朝 1368-1644",
    "北纬 39.9°，东经 116.4°", "海拔 8848.86 米", "长江全长约 6300 千米", "黄河流域面积 752443 平方千米",
    "log₂8 = 3", "lg100 = 2", "(a + b)(a - b) = a² - b²", "|x - 3| < 5 的解集", "f(x) = 2x + 1，f(3) = 7",
    "等差数列 a1 = 3, d = 4, a10 = 39", "等比数列 2, 4, 8, 16, 32, 64, 128", "排列 A(5,2) = 20，组合 C(5,2) = 10",
    "概率 P = 3/8 = 0.375", "sin²α + cos²α = 1", "tan45° = 1", "向量 a = (3, 4)，|a| = 5", "复数 z = 3 + 4i",
    "集合 A = {1, 2, 3}, B = {2, 3, 4}", "x ∈ [0, 2π)", "y = log(x - 1) 的定义域 x > 1", "1/3 + 1/6 = 1/2",
    "0.125 = 1/8", "3.6 km/h = 1 m/s", "1 kWh = 3.6 × 10^6 J", "1 atm = 101325 Pa", "水的沸点 100 ℃",
    "NaCl 的相对分子质量是 58.5", "O2 的摩尔质量 32 g/mol", "pH = 7 是中性", "元素周期表第 26 号元素是铁",
    "2H2 + O2 = 2H2O", "Cu2(OH)2CO3", "CH3COOH + NaHCO3", "Al2(SO4)3 的电离", "KAl(SO4)2·12H2O",
    "DNA 双螺旋结构", "细胞分裂分为 4 个时期", "光合作用 6CO2 + 6H2O → C6H12O6 + 6O2", "23 对染色体",
    "第 5 单元测试 85 分", "期中考试数学 118 分，总分 150", "班级排名第 12，年级 156 名", "学号 20231045",
    "考号 2026010203", "座位号 3-12", "教室在 3 楼 302", "图书馆借书证到期日 2026/12/31", "身高 165 cm，体重 52 kg",
    "跑 800 米用时 3 分 25 秒", "跳绳一分钟 180 个", "请把第 2、4、6 题再做一遍", "练习 1—3 题选做",
    "答案：A B C D A B", "选择题 1-5：CADBB", "这道题的答案是 -1/2", "结果约等于 0.6667", "保留两位小数是 3.14",
    "计算 123 × 456 = 56088", "99999 + 1 = 100000", "1234567 是一个七位数", "12345678 ÷ 2 = 6172839",
    "2^10 = 1024，2^20 = 1048576", "3^5 = 243", "10! = 3628800", "大数 100,000,000 读作一亿",
    "老师，第 3 题的第 2 问我不懂", "这个公式是怎么推出来的？", "谢谢老师！我明白了", "能再讲一遍吗", "好的，我再试试",
    "我算出来是 x = 4，对吗？", "是不是要先通分？", "单位要换算成国际单位吗", "这个反应需要加热吗", "我画了受力分析图",
    "老师我用的是人教版教材", "明天下午 3 点还有数学课", "周五 19:00 上线答疑", "我们班 11 月 25 日考试",
    "电话号码的区号是什么意思？", "微信支付和支付宝的原理", "手机信号是电磁波", "QQ 和微信哪个发明得早？",
]
ORDINARY += [f"第{p}页第{q}题" for p, q in itertools.product([12, 138, 205], [3, 17, 26])]
ORDINARY += [f"{y}年{m}月{d}日" for y, m, d in [(2025, 9, 1), (2026, 1, 20), (2026, 11, 9), (2008, 8, 8)]]
ORDINARY += [f"{x} m/s × {t} s = {x * t} m" for x, t in [(12, 3), (340, 2), (25, 40)]]


def figures() -> dict[str, object]:
    from app.kit.safety import screen

    missed = [(t, screen(t).text) for t, secret in CONTACTS if not leaked_safe(t, secret, screen(t))]
    touched = [(t, screen(t).text) for t in ORDINARY if screen(t).text != t]
    return {"contact_cases": len(CONTACTS), "masked": len(CONTACTS) - len(missed),
            "recall": round(1 - len(missed) / len(CONTACTS), 4), "ordinary_texts": len(ORDINARY),
            "false_positives": len(touched), "false_positive_rate": round(len(touched) / len(ORDINARY), 4),
            "missed": missed, "touched": touched}


def _bare(text: str) -> str:
    import unicodedata

    from app.kit.safety import _skeleton

    return "".join(c for c in _skeleton(unicodedata.normalize("NFKC", text)).text if c.isalnum())


def leaked_safe(text: str, secret: str, screened) -> bool:  # type: ignore[no-untyped-def]
    """Masked, flagged, and the secret no longer readable even with the separators taken out."""
    return screened.flagged and _bare(secret) not in _bare(screened.text)


if __name__ == "__main__":
    import json

    print(json.dumps(figures(), ensure_ascii=False, indent=1))
