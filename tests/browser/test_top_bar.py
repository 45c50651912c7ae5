"""The lead's top bar in Chromium: one line at 1280 px, usable at 1024 px, a menu on a phone."""

from __future__ import annotations

from django.urls import reverse

from tests.base import make_project, make_user
from tests.browser.base import BrowserTestCase
from transcripts.models import Membership

# Every visible link, name and button in the bar, with its box.
BOXES = """() => [...document.querySelectorAll('.site-header a, .site-header summary, .site-header button')]
  .filter(el => el.getClientRects().length > 0)
  .map(el => { const r = el.getBoundingClientRect();
    return {text: el.textContent.replace(/[▾☰]/g, '').trim(), top: r.top, bottom: r.bottom, left: r.left, right: r.right,
            width: r.width, height: r.height, lineHeight: parseFloat(getComputedStyle(el).lineHeight),
            clipped: el.scrollWidth > el.clientWidth + 1,
            truncatable: el.matches('.project-name, .account-menu summary')}; })"""
LEAD_LINKS = ["Transcripts", "Participants", "Codebook", "Review", "Members", "My queue", "Agreement", "Audit"]
NAME = "Patricia Investigator-Whitfield"


class TopBarTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        # A lead, so every link shows, with names longer than the demo's.
        self.pi = make_user("pi", first_name="Patricia", last_name="Investigator-Whitfield")
        self.project = make_project(self.pi, name="Peer workers study (demo)", slug="peer-workers-demo")
        self.assertEqual(Membership.objects.get(user=self.pi).role, Membership.Role.LEAD)
        self.page = self.new_page(self.pi)
        self.page.goto(self.url(reverse("project_detail", args=[self.project.slug])))

    def boxes(self, width: int | None = None) -> list[dict]:
        if width is not None:
            self.page.set_viewport_size({"width": width, "height": 800})
        return self.page.evaluate(BOXES)

    def assertTidy(self, boxes: list[dict], width: int) -> None:
        """Nothing wraps, nothing is cut off (long names end in an ellipsis), runs off the screen or overlaps."""
        for box in boxes:
            self.assertLess(box["height"], 2 * box["lineHeight"] - 2, f"{box['text']} wraps at {width} px")
            self.assertGreaterEqual(box["left"], 0, box["text"])
            self.assertLessEqual(box["right"], width, f"{box['text']} runs off the screen at {width} px")
            if box["truncatable"]:
                self.assertGreaterEqual(box["width"], 90, f"{box['text']} squeezed at {width} px")
            else:
                self.assertFalse(box["clipped"], f"{box['text']} is cut off at {width} px")
        for n, a in enumerate(boxes):
            for b in boxes[n + 1 :]:
                apart = a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
                self.assertTrue(apart, f"{a['text']} overlaps {b['text']} at {width} px")

    def open_account_menu(self, width: int) -> None:
        self.page.click(".account-menu summary")
        for text in ("Second factor", "Log out"):
            box = self.page.locator(".account-panel").get_by_text(text, exact=True).bounding_box()
            self.assertIsNotNone(box, text)
            self.assertLessEqual(box["x"] + box["width"], width, text)

    def test_every_link_of_a_lead_sits_on_one_line_at_1280_px(self):
        boxes = self.boxes(1280)
        texts = [box["text"] for box in boxes]
        self.assertEqual(texts, ["peercoding", "Peer workers study (demo)", *LEAD_LINKS, NAME])
        self.assertFalse(self.page.is_visible(".site-menu summary"))
        middles = {round((box["top"] + box["bottom"]) / 2) for box in boxes}
        self.assertLessEqual(max(middles) - min(middles), 2, f"not one line: {boxes}")
        self.assertTidy(boxes, 1280)
        self.screenshot(self.page, "top-bar-1280")
        self.open_account_menu(1280)
        self.screenshot(self.page, "top-bar-1280-account")
        self.page.set_viewport_size({"width": 1440, "height": 800})
        self.page.click(".account-menu summary")
        self.screenshot(self.page, "top-bar-1440")
        self.assertNoConsoleErrors()

    def test_at_1024_px_every_link_shows_in_two_tidy_rows(self):
        boxes = self.boxes(1024)
        self.assertEqual([box["text"] for box in boxes], ["peercoding", "Peer workers study (demo)", *LEAD_LINKS, NAME])
        self.assertFalse(self.page.is_visible(".site-menu summary"))
        self.assertTidy(boxes, 1024)
        self.assertLessEqual(len({round(box["top"]) for box in boxes}), 3)
        self.screenshot(self.page, "top-bar-1024")
        self.open_account_menu(1024)
        self.page.keyboard.press("Escape")
        self.page.click(".project-nav >> text=Codebook")
        self.page.wait_for_url("**/codebook/")
        self.assertNoConsoleErrors()

    def test_on_a_narrow_screen_the_links_fold_into_a_menu(self):
        boxes = self.boxes(400)
        self.assertEqual([box["text"] for box in boxes], ["peercoding", "Menu"])
        self.screenshot(self.page, "top-bar-400-closed")
        summary = self.page.locator(".site-menu summary")
        summary.click()
        boxes = self.boxes()
        self.assertEqual(
            [box["text"] for box in boxes],
            ["peercoding", "Menu", "Peer workers study (demo)", *LEAD_LINKS, "Second factor", "Log out"],
        )
        self.assertTidy(boxes, 400)
        self.assertTrue(self.page.locator(".account-name").is_visible())
        self.screenshot(self.page, "top-bar-400-open")
        # The keyboard closes it again, and the links go with it.
        summary.focus()
        self.page.keyboard.press("Enter")
        self.assertEqual([box["text"] for box in self.boxes()], ["peercoding", "Menu"])
        summary.click()
        self.page.locator(".project-nav").get_by_text("Members", exact=True).click()
        self.page.wait_for_url("**/members/")
        self.assertNoConsoleErrors()
