"""An admin at their desk in the browser: tutor applications and roster imports."""
from __future__ import annotations

from playwright.async_api import expect

from .conftest import DESKTOP, Pages, shot


async def test_a_school_admin_reviews_applications_and_imports_a_roster(factory, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    org = await factory.org()
    keep = await factory.tutor(org, status="pending_school")
    drop = await factory.tutor(org, status="pending_school")
    elsewhere = await factory.tutor(org, school=2, status="pending_school")  # another school: not this admin's
    admin = await factory.user("school_admin", org)
    page = await pages.open(admin.username, DESKTOP)

    cards = page.locator("#applications article")
    await expect(cards).to_have_count(2)
    assert elsewhere.id not in [int(x) for x in await cards.evaluate_all("els => els.map(e => e.dataset.tutor)")]
    await shot(page, "admin-desk")

    rejected = page.locator(f"#applications article[data-tutor='{drop.id}']")
    await rejected.get_by_role("button", name="驳回").click()
    await expect(rejected.locator("p.error")).to_have_text("驳回时请写明原因。")
    await rejected.locator("input").fill("职称证明不清楚")
    await rejected.get_by_role("button", name="驳回").click()
    await expect(page.locator("#applications")).to_contain_text("已驳回")
    await page.locator(f"#applications article[data-tutor='{keep.id}']").get_by_role("button", name="通过").click()
    await expect(page.locator("#applications")).to_contain_text("已通过")
    await expect(page.locator("#applications")).to_contain_text("没有等待你审核的申请。")
    await page.reload()  # decided for good: the queue stays empty
    await expect(page.locator("#applications")).to_contain_text("没有等待你审核的申请。")

    code = org.schools[0].code
    bad = ("username,real_name,school_code,grade,class_name,password\n"
           f"wangwu,王五,{code},8,1班,good-password\n"
           f"zhaoliu,赵六,{code},13,1班,good-password\n")
    await page.select_option("#roster-kind", "students")
    await page.set_input_files("#roster-file", files=[{"name": "学生.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    await page.click("#roster-submit")
    await expect(page.locator("#roster-result")).to_contain_text("文件没有导入")
    row = page.locator("#roster-errors tbody tr")
    await expect(row).to_have_count(1)
    await expect(row.locator("td").nth(0)).to_have_text("3")
    await expect(row.locator("td").nth(1)).to_have_text("grade")
    await shot(page, "admin-roster-errors")

    good = bad.replace(",13,", ",8,").replace("good-password\n", "\n", 1)
    await page.set_input_files("#roster-file", files=[{"name": "学生.csv", "mimeType": "text/csv", "buffer": good.encode()}])
    await page.click("#roster-submit")
    await expect(page.locator("#roster-result")).to_contain_text("导入成功：2 行，新建 2 条。")
    await expect(page.locator("#roster-result table tbody tr")).to_have_count(1)  # wangwu's generated password, shown once
    await expect(page.locator("#roster-result table tbody tr td").nth(0)).to_have_text("wangwu")


async def test_the_dashboard_draws_charts_from_the_local_chart_library_and_exports(factory, pages: Pages) -> None:  # type: ignore[no-untyped-def]
    from io import BytesIO

    from openpyxl import load_workbook

    from ..test_participation import build

    org, schools, students, sessions, questions = await build(factory, 21)
    admin = await factory.user("city_admin", org)
    page = await pages.open(admin.username, DESKTOP)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    await page.click("nav a[href='#/dashboard']")
    await page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-ranking'))")
    # The ranking chart draws one horizontal bar per school, as long as its rate, in the table's order.
    bars = await page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('chart-ranking'));
        const scale = c.scales[c.getDatasetMeta(0).vScale.id];
        return { labels: c.scales.y.getLabels(), lengths: c.getDatasetMeta(0).data.map((b) => Math.abs(b.x - b.base)),
                 perPercent: Math.abs(scale.getPixelForValue(100) - scale.getPixelForValue(0)) / 100 };
    }""")
    table = [[await cell.inner_text() for cell in await row.locator("td").all()]
             for row in await page.locator("#participation-table tbody tr").all()]
    assert bars["labels"] == [r[1] for r in table][:20]
    rates = [float(r[5]) for r in table][:20]
    assert max(rates) > 0 and len(bars["lengths"]) == len(rates)
    for length, rate in zip(bars["lengths"], rates):
        assert abs(length - rate * bars["perPercent"]) < 1.5, (length, rate)
    days = await page.evaluate("() => Chart.getChart(document.getElementById('chart-trend')).data.labels.length")
    frm, to = await page.input_value("#dash-from"), await page.input_value("#dash-to")
    from datetime import date
    # The inputs are Beijing days, both included, starting on the first of this month there.
    from zoneinfo import ZoneInfo
    from datetime import datetime
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert (frm, to) == (today.replace(day=1).isoformat(), today.isoformat())
    assert days == (date.fromisoformat(to) - date.fromisoformat(frm)).days + 1
    assert all(u.startswith(pages.base) for u in requested), "everything comes from the service itself"
    rows = page.locator("#participation-table tbody tr")
    await expect(rows).to_have_count(len(schools))
    await shot(page, "admin-dashboard")

    async with page.expect_download() as info:
        await page.locator("#participation-table button.export-xlsx").click()
    download = await info.value
    assert download.suggested_filename == f"participation_{frm}_{to}.xlsx"  # the period, both ends included
    path = await download.path()
    sheet = list(load_workbook(BytesIO(open(path, "rb").read())).active.values)
    assert "参与一对一辅导人数" in sheet[0] and len(sheet) == 1 + len(schools)
