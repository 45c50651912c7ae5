"""Coding a transcript in Chromium: select, code, reload, overlap, boundaries, undo, delete."""

from __future__ import annotations

from django.urls import reverse

from tests.base import make_code, make_project, make_transcript, make_user
from tests.browser.base import BrowserTestCase
from transcripts import actions
from transcripts.models import AuditEvent, Excerpt, Membership

TEXT = (
    "Interviewer: What keeps you going? 💪\n"
    "P07: Honestly the group chat. José said the café meetings help, and I agree. Spın̈al Tap, ha.\n"
    "Interviewer: Anything else?\n"
    "P07: قالت إن المجموعة ساعدتها — that's what Amal told me. Boundaries matter too.\n"
    "Interviewer: Thanks.\n"
)


# The text as the reader sees it: one entry per run of characters that look alike (same line,
# same highlight classes and excerpts, inside a speaker label or not).
RUNS = """() => {
  const runs = [];
  for (const line of document.getElementById('transcript-text').children) {
    const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const mark = node.parentElement.closest('mark');
      const look = [line.id, line.className, mark ? [...mark.classList].filter(c => c !== 'selected').sort().join(' ') : '',
                    mark ? mark.dataset.excerpts : '', !!node.parentElement.closest('.speaker')].join('|');
      const last = runs[runs.length - 1];
      if (last && last[0] === look) last[1] += node.data; else runs.push([look, node.data]);
    }
  }
  return runs;
}"""
STRIPES = "() => [...document.querySelectorAll('.stripe')].map(s => s.dataset.excerptId + ' ' + s.className.replace(' selected', '')).sort()"


class CodingPageTestCase(BrowserTestCase):
    """The cast, a transcript with awkward text, three codes, and the moves a coder makes."""

    def setUp(self) -> None:
        super().setUp()
        self.alice = make_user("alice")
        self.bob = make_user("bob", first_name="Bob", last_name="Coder")
        self.rita = make_user("rita")
        self.project = make_project(self.alice)
        actions.set_role(self.project, self.bob, Membership.Role.CODER, by=self.alice)
        actions.set_role(self.project, self.rita, Membership.Role.READER, by=self.alice)
        from transcripts.interop.readers import parse_transcript

        parsed = parse_transcript("P07.txt", TEXT.encode())
        self.transcript = make_transcript(self.project, title="P07", text=parsed.text, turns=parsed.turns)
        self.community = make_code(self.project, name="Sense of community", color="#2ca02c", definition="Peers as a group")
        self.boundaries = make_code(self.project, name="Setting boundaries", color="#1f77b4", definition="Limits at work")
        self.selfcare = make_code(self.project, name="Self-care routines", color="#ff7f0e", definition="Habits outside work")
        self.url = self.url_for(self.transcript)

    def url_for(self, transcript) -> str:
        return self.url(reverse("transcript_detail", args=[transcript.pk]))

    def open(self, user):
        page = self.new_page(user)
        page.goto(self.url)
        page.wait_for_selector("#transcript-text")
        return page

    def select(self, page, start: int, end: int) -> None:
        page.evaluate(
            "([s, e]) => { const box = document.getElementById('transcript-text'); box.focus();"
            " window.peercodingOffsets.selectCodePoints(box, s, e); }",
            [start, end],
        )

    def pick(self, page, *names: str) -> None:
        """Open the picker with the keyboard, filter to each name, add it, then apply."""
        page.keyboard.press("c")
        page.wait_for_selector("#code-picker[open]")
        for name in names:
            page.fill("#picker-filter", name)
            page.keyboard.press("Control+Enter")
        page.keyboard.press("Enter")

    def wait_for_excerpts(self, n: int, page=None) -> None:
        """Wait until n excerpts are stored and, given a page, until it shows them."""
        for _ in range(100):
            if Excerpt.objects.count() == n:
                break
            import time

            time.sleep(0.05)
        self.assertEqual(Excerpt.objects.count(), n)
        if page is not None:
            page.wait_for_function(
                "n => JSON.parse(document.getElementById('excerpt-data').dataset.json).length === n", arg=n
            )


class CodingFlowTests(CodingPageTestCase):
    def test_textcontent_is_exactly_the_stored_text(self):
        page = self.open(self.bob)
        self.assertEqual(page.eval_on_selector("#transcript-text", "el => el.textContent"), self.transcript.text)
        self.assertNoConsoleErrors()

    def test_select_code_reload_and_the_exact_text_is_still_there(self):
        text = self.transcript.text
        start = text.index("José said the café")
        end = start + len("José said the café meetings help")
        page = self.open(self.bob)
        self.select(page, start, end)
        self.pick(page, "community")
        self.wait_for_excerpts(1)
        page.wait_for_selector("#excerpt-panel blockquote")
        excerpt = Excerpt.objects.get()
        self.assertEqual(excerpt.quote, "José said the café meetings help")
        self.assertEqual((excerpt.start, excerpt.end, excerpt.coder), (start, end, self.bob))
        self.assertEqual(list(excerpt.codes.all()), [self.community])
        page.reload()
        mark = page.locator(f'mark[data-excerpts~="{excerpt.pk}"]')
        self.assertEqual("".join(mark.all_inner_texts()), "José said the café meetings help")
        self.assertEqual(page.locator(".stripe").count(), 1)
        self.screenshot(page, "coding-after-reload")
        self.assertNoConsoleErrors()

    def test_offsets_survive_emoji_and_right_to_left_text(self):
        text = self.transcript.text
        start = text.index("💪")
        page = self.open(self.bob)
        self.select(page, start, start + 1)
        self.pick(page, "self-care")
        self.wait_for_excerpts(1, page)
        self.assertEqual(Excerpt.objects.get().quote, "💪")
        rtl_start = text.index("المجموعة")
        self.select(page, rtl_start, rtl_start + len("المجموعة ساعدتها"))
        self.pick(page, "community")
        self.wait_for_excerpts(2)
        self.assertEqual(Excerpt.objects.order_by("pk").last().quote, "المجموعة ساعدتها")

    def test_offsets_survive_combining_marks_without_a_precomposed_form(self):
        text = self.transcript.text
        start = text.index("Spın̈al")
        self.assertEqual(text[start + 3 : start + 5], "n\u0308")  # n + combining diaeresis stays two code points
        page = self.open(self.bob)
        self.select(page, start, start + len("Spın̈al Tap"))
        self.pick(page, "community")
        self.wait_for_excerpts(1)
        self.assertEqual(Excerpt.objects.get().quote, "Spın̈al Tap")

    def test_a_lost_session_keeps_the_selection_and_says_what_to_do(self):
        page = self.open(self.bob)
        start = self.transcript.text.index("group chat")
        from django.contrib.sessions.models import Session

        Session.objects.all().delete()  # the session expires while the page is open
        self.select(page, start, start + 10)
        self.pick(page, "community")
        page.wait_for_selector(".message-error")
        self.assertIn("session has ended", page.inner_text("#messages"))
        self.assertEqual(page.evaluate("() => window.getSelection().toString()"), "group chat")
        self.assertFalse(Excerpt.objects.exists())
        self.assertEqual(page.locator("#excerpt-panel .stacked-form, #excerpt-panel #id_password").count(), 0)

    def test_a_selection_across_paragraphs_and_inside_a_label_snaps_to_words(self):
        text = self.transcript.text
        start = text.index("nterviewer: Anything")  # inside the speaker label
        end = text.index("Boundaries") + 3  # inside a word, on the next line
        page = self.open(self.bob)
        self.select(page, start, end)
        self.pick(page, "boundaries")
        self.wait_for_excerpts(1)
        excerpt = Excerpt.objects.get()
        self.assertEqual(excerpt.start, text.index("Interviewer: Anything"))
        self.assertEqual(excerpt.end, text.index("Boundaries") + len("Boundaries"))

    def test_overlapping_codes_and_several_codes_at_once(self):
        text = self.transcript.text
        a = text.index("Honestly the group chat")
        b = text.index("the group chat. José")
        page = self.open(self.bob)
        self.select(page, a, a + len("Honestly the group chat"))
        self.pick(page, "community", "self-care")
        self.wait_for_excerpts(1, page)
        self.select(page, b, b + len("the group chat. José said"))
        self.pick(page, "boundaries")
        self.wait_for_excerpts(2)
        first, second = Excerpt.objects.order_by("pk")
        self.assertEqual({c.name for c in first.codes.all()}, {"Sense of community", "Self-care routines"})
        page.wait_for_function("() => document.querySelectorAll('.stripe').length === 3")
        shared = page.locator(f'mark[data-excerpts="{first.pk} {second.pk}"]')
        self.assertEqual(shared.inner_text(), "the group chat")
        self.screenshot(page, "coding-overlap")

    def test_the_picker_filters_by_definition_and_numbers_recent_codes(self):
        text = self.transcript.text
        page = self.open(self.bob)
        start = text.index("Honestly")
        self.select(page, start, start + 8)
        page.keyboard.press("c")
        page.fill("#picker-filter", "habits outside")  # words of the definition, not the name
        visible = page.locator("#picker-list li[role=option]:not(.hidden)")
        self.assertEqual(visible.all_inner_texts()[0].split("\n")[0].strip(), "Self-care routines")
        self.assertEqual(visible.count(), 2)  # the code, and "create a new code"
        page.keyboard.press("Enter")
        self.wait_for_excerpts(1, page)
        # The code just used is now recent code number 1.
        start = text.index("Amal")
        self.select(page, start, start + 4)
        page.keyboard.press("c")
        self.assertEqual(page.locator("#pick-%d .pick-number" % self.selfcare.pk).inner_text(), "1")
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        self.wait_for_excerpts(2)
        self.assertEqual(list(Excerpt.objects.order_by("pk").last().codes.all()), [self.selfcare])

    def test_a_new_code_can_be_created_from_the_picker(self):
        page = self.open(self.bob)
        start = self.transcript.text.index("Amal")
        self.select(page, start, start + 4)
        page.keyboard.press("c")
        page.fill("#picker-filter", "Naming peers")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        self.wait_for_excerpts(1)
        self.assertEqual(list(Excerpt.objects.get().codes.values_list("name", flat=True)), ["Naming peers"])

    def test_boundary_change_undo_and_delete(self):
        text = self.transcript.text
        start = text.index("group chat")
        excerpt = actions.create_excerpt(
            self.transcript, start=start, end=start + len("group chat"), codes=[self.community], by=self.bob
        )
        page = self.open(self.bob)
        page.locator(f'mark[data-excerpts~="{excerpt.pk}"]').first.click()
        page.wait_for_selector("#move-end-right")
        page.keyboard.press("Alt+Shift+ArrowRight")  # end: take in the full stop
        page.wait_for_selector("#excerpt-panel input[name=version][value='2']", state="attached")
        page.keyboard.press("Alt+Shift+ArrowRight")  # end: take in the next word
        page.wait_for_function(
            "id => [...document.querySelectorAll(`mark[data-excerpts~=\"${id}\"]`)].map(m => m.textContent).join('').includes('José')",
            arg=excerpt.pk,
        )
        excerpt.refresh_from_db()
        self.assertEqual(excerpt.quote, "group chat. José")
        page.click("#undo-button")
        page.wait_for_function(
            "id => ![...document.querySelectorAll(`mark[data-excerpts~=\"${id}\"]`)].map(m => m.textContent).join('').includes('José')",
            arg=excerpt.pk,
        )
        excerpt.refresh_from_db()
        self.assertEqual(excerpt.quote, "group chat.")
        page.click("#undo-button")
        page.wait_for_function(
            "id => [...document.querySelectorAll(`mark[data-excerpts~=\"${id}\"]`)].map(m => m.textContent).join('') === 'group chat'",
            arg=excerpt.pk,
        )
        excerpt.refresh_from_db()
        self.assertEqual(excerpt.quote, "group chat")
        page.locator(f'mark[data-excerpts~="{excerpt.pk}"]').first.click()
        page.wait_for_selector("#delete-excerpt")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#delete-excerpt")
        page.wait_for_function("() => document.querySelectorAll('mark.hl').length === 0")
        self.assertFalse(Excerpt.objects.exists())
        page.keyboard.press("Control+z")
        page.wait_for_function("() => document.querySelectorAll('mark.hl').length === 1")
        self.assertEqual(Excerpt.objects.get().quote, "group chat")
        verbs = list(AuditEvent.objects.filter(verb__startswith="excerpt.").values_list("verb", flat=True).order_by("pk"))
        self.assertEqual(
            verbs,
            [
                "excerpt.created",
                "excerpt.changed",
                "excerpt.changed",
                "excerpt.undone",
                "excerpt.undone",
                "excerpt.deleted",
                "excerpt.undone",
            ],
        )

    def test_a_memo_saves_and_a_stale_memo_edit_keeps_the_users_text(self):
        start = self.transcript.text.index("group chat")
        excerpt = actions.create_excerpt(self.transcript, start=start, end=start + 10, codes=[self.community], by=self.bob)
        page = self.open(self.bob)
        page.locator(f'mark[data-excerpts~="{excerpt.pk}"]').first.click()
        page.wait_for_selector("#excerpt-memo")
        # Meanwhile the lead edits the same excerpt's memo.
        actions.change_excerpt(excerpt, by=self.alice, expected_version=1, memo="Lead's note")
        page.fill("#excerpt-memo", "My careful memo")
        page.click("#excerpt-form button[type=submit]")
        page.wait_for_selector("#excerpt-panel .form-errors")
        self.assertIn("changed this excerpt meanwhile", page.inner_text("#excerpt-panel"))
        self.assertEqual(page.input_value("#excerpt-memo"), "My careful memo")
        excerpt.refresh_from_db()
        self.assertEqual(excerpt.memo, "Lead's note")
        page.click("#excerpt-form button[type=submit]")
        page.wait_for_function("() => !document.querySelector('#excerpt-panel .form-errors')")
        excerpt.refresh_from_db()
        self.assertEqual(excerpt.memo, "My careful memo")

    def test_the_whole_flow_works_from_the_keyboard(self):
        page = self.open(self.bob)
        page.focus("#transcript-text")
        page.keyboard.press("ArrowDown")  # caret to the start of the next line
        for _ in range(2):
            page.keyboard.press("Shift+ArrowRight")  # select "P07: Honestly" word by word
        selected = page.evaluate("window.getSelection().toString()")
        self.assertTrue(selected.strip(), "keyboard selection selected nothing")
        page.keyboard.press("c")
        page.keyboard.type("bound")
        page.keyboard.press("Enter")
        self.wait_for_excerpts(1, page)
        self.assertIn(Excerpt.objects.get().quote.strip(), self.transcript.text)
        page.keyboard.press("Escape")
        page.focus("#transcript-text")
        page.keyboard.press("n")
        page.wait_for_selector("#excerpt-memo")
        page.keyboard.press("m")
        page.keyboard.type("Typed without a mouse")
        page.keyboard.press("Control+Enter")  # saves the memo
        page.wait_for_function("() => document.querySelector('#excerpt-memo') && document.querySelector('#excerpt-memo').value.includes('without')")
        for _ in range(50):
            if Excerpt.objects.get().memo:
                break
            page.wait_for_timeout(50)
        self.assertEqual(Excerpt.objects.get().memo, "Typed without a mouse")

    def test_readers_see_coding_but_get_no_controls(self):
        start = self.transcript.text.index("group chat")
        excerpt = actions.create_excerpt(self.transcript, start=start, end=start + 10, codes=[self.community], by=self.bob)
        page = self.open(self.rita)
        self.assertEqual(page.locator("mark.hl").count(), 1)
        self.assertEqual(page.locator("#code-picker").count(), 0)
        self.assertEqual(page.locator("#undo-button").count(), 0)
        page.locator(f'mark[data-excerpts~="{excerpt.pk}"]').first.click()
        page.wait_for_selector("#excerpt-panel blockquote")
        self.assertEqual(page.locator("#excerpt-memo").count(), 0)
        self.assertEqual(page.locator("#delete-excerpt").count(), 0)
        self.select(page, start, start + 5)
        page.keyboard.press("c")
        page.wait_for_timeout(200)
        self.assertEqual(Excerpt.objects.count(), 1)
        self.screenshot(page, "coding-reader")

    def test_two_coders_at_once_both_keep_their_work_and_see_each_other(self):
        text = self.transcript.text
        bob_page = self.open(self.bob)
        alice_page = self.open(self.alice)
        a = text.index("group chat")
        b = text.index("Boundaries matter")
        self.select(bob_page, a, a + 10)
        self.select(alice_page, b, b + len("Boundaries matter"))
        self.pick(bob_page, "community")
        self.pick(alice_page, "boundaries")
        self.wait_for_excerpts(2)
        # Each page shows the other's excerpt within a few seconds (polling).
        for page in (bob_page, alice_page):
            # Polling every 4 s; generous on a loaded machine.
            page.wait_for_function("() => document.querySelectorAll('mark.hl').length === 2", timeout=25_000)
        self.assertEqual({e.coder for e in Excerpt.objects.all()}, {self.alice, self.bob})

    def test_a_double_submit_codes_once(self):
        page = self.open(self.bob)
        start = self.transcript.text.index("group chat")
        token = "same-token-twice"
        for _ in range(2):
            page.evaluate(
                "([url, s, e, code, tok]) => fetch(url, {method: 'POST', headers: {'X-CSRFToken':"
                " document.querySelector('input[name=csrfmiddlewaretoken]').value, 'HX-Request': 'true',"
                " 'Content-Type': 'application/x-www-form-urlencoded'},"
                " body: new URLSearchParams({start: s, end: e, codes: String(code), client_token: tok})})",
                [reverse("excerpt_create", args=[self.transcript.pk]), start, start + 10, self.community.pk, token],
            )
        self.wait_for_excerpts(1)
        page.wait_for_timeout(300)
        self.assertEqual(Excerpt.objects.count(), 1)


class InPlaceTests(CodingPageTestCase):
    """One's own coding is patched into the text in place; others' changes still come by polling."""

    def keep_an_eye_on_the_text(self, page) -> None:
        page.evaluate("() => { document.getElementById('coding-area').dataset.sameElement = 'yes'; }")

    def assertNotRefreshed(self, page) -> None:
        self.assertEqual(page.evaluate("() => document.getElementById('coding-area').dataset.sameElement"), "yes")

    def assertLooksLikeAFreshPage(self, page) -> None:
        """The patched text reads and looks exactly as the server renders it after a reload."""
        self.assertEqual(page.eval_on_selector("#transcript-text", "el => el.textContent"), self.transcript.text)
        patched, stripes = page.evaluate(RUNS), page.evaluate(STRIPES)
        state = page.evaluate("() => document.getElementById('coding-area').dataset.state")
        page.reload()
        page.wait_for_selector("#transcript-text")
        self.assertEqual(page.evaluate(RUNS), patched)
        self.assertEqual(page.evaluate(STRIPES), stripes)
        # The page counted its own writes into its polling token: the next poll changes nothing.
        self.assertEqual(page.evaluate("() => document.getElementById('coding-area').dataset.state"), state)

    def test_the_code_panel_comes_with_the_write_and_keeps_its_focus(self):
        page = self.open(self.bob)
        page.locator(f'#code-tree .focus-link[hx-get$="focus={self.boundaries.pk}"]').click()
        page.wait_for_selector(f'#focus-code[data-code-id="{self.boundaries.pk}"]')
        asked = []
        page.on("request", lambda request: asked.append((request.method, request.url)))
        self.keep_an_eye_on_the_text(page)
        start = self.transcript.text.index("Honestly")
        self.select(page, start, start + len("Honestly the group chat"))
        page.locator(f'#code-tree .code-button[data-code-id="{self.community.pk}"]').click()
        count = f'#code-tree .code-button[data-code-id="{self.community.pk}"] + .count'
        page.wait_for_function(f"() => document.querySelector('{count}').textContent === '1'")
        self.wait_for_excerpts(1, page)
        self.assertEqual(page.locator(f'#focus-code[data-code-id="{self.boundaries.pk}"]').count(), 1)
        self.assertIn("Bob Coder", page.locator(".coverage").inner_text())
        self.assertNotRefreshed(page)
        page.wait_for_timeout(300)  # time for a request for the panel, if the page made one
        self.assertEqual([method for method, url in asked if "/excerpts/" in url], ["POST"])
        self.assertFalse([url for _, url in asked if "partial=code-panel" in url])

    def test_codings_overlaps_boundaries_and_deletion_are_patched_in_place(self):
        text = self.transcript.text
        across = text.index("José said")  # to the next line's speaker label and beyond
        theirs = actions.create_excerpt(
            self.transcript, start=across, end=text.index("Anything else"), codes=[self.boundaries], by=self.alice
        )
        spare_start = text.index("the café")
        spare = actions.create_excerpt(
            self.transcript, start=spare_start, end=spare_start + len("the café meetings"), codes=[self.selfcare], by=self.bob
        )
        page = self.open(self.bob)
        self.keep_an_eye_on_the_text(page)
        a = text.index("Honestly the group chat")
        self.select(page, a, text.index("the café"))
        self.pick(page, "community", "self-care")
        self.wait_for_excerpts(3, page)
        mine = Excerpt.objects.exclude(pk__in=[theirs.pk, spare.pk]).get()
        shared = page.locator(f'mark[data-excerpts="{theirs.pk} {mine.pk}"]')
        self.assertEqual(shared.inner_text(), "José said")
        self.assertIn("depth-2", shared.get_attribute("class"))
        self.assertEqual(page.locator(".stripe").count(), 4)
        self.assertNotRefreshed(page)
        self.screenshot(page, "coding-patched")
        self.assertLooksLikeAFreshPage(page)

        self.keep_an_eye_on_the_text(page)
        page.locator(f'mark[data-excerpts="{mine.pk}"]').first.click()
        page.wait_for_selector("#move-end-right")
        page.keyboard.press("Alt+Shift+ArrowRight")  # the end takes in the next word
        page.wait_for_function(
            "id => [...document.querySelectorAll(`mark[data-excerpts~=\"${id}\"]`)].map(m => m.textContent).join('').endsWith('said the')",
            arg=mine.pk,
        )
        self.assertNotRefreshed(page)
        self.assertLooksLikeAFreshPage(page)

        self.keep_an_eye_on_the_text(page)
        page.locator(f'.stripe[data-excerpt-id="{spare.pk}"]').click()
        page.wait_for_selector("#delete-excerpt")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#delete-excerpt")
        page.wait_for_function(f"() => !document.querySelector('mark[data-excerpts~=\"{spare.pk}\"]')")
        self.assertFalse(Excerpt.objects.filter(pk=spare.pk).exists())
        self.assertEqual(page.locator(".stripe").count(), 3)
        self.assertNotRefreshed(page)
        self.assertLooksLikeAFreshPage(page)
        self.assertNoConsoleErrors()

    def test_anothers_coding_still_arrives_by_polling_after_a_patch(self):
        text = self.transcript.text
        page = self.open(self.alice)
        self.keep_an_eye_on_the_text(page)
        a = text.index("group chat")
        self.select(page, a, a + len("group chat"))
        self.pick(page, "community")
        self.wait_for_excerpts(1, page)
        self.assertNotRefreshed(page)
        b = text.index("Boundaries matter")
        theirs = actions.create_excerpt(self.transcript, start=b, end=b + 10, codes=[self.boundaries], by=self.bob)
        # Polling every 4 s; generous on a loaded machine.
        page.wait_for_selector(f'mark[data-excerpts="{theirs.pk}"]', timeout=25_000)
        self.assertEqual(page.locator(".stripe").count(), 2)
        page.click("#undo-button")  # undo refreshes the text rather than patching it
        page.wait_for_function("() => document.querySelectorAll('mark.hl').length === 1")
        self.assertEqual(list(Excerpt.objects.values_list("pk", flat=True)), [theirs.pk])
        self.assertEqual(page.eval_on_selector("#transcript-text", "el => el.textContent"), text)

    def test_a_filtered_view_refreshes_instead_of_patching(self):
        page = self.new_page(self.bob)
        page.goto(self.url + f"?code={self.boundaries.pk}")
        page.wait_for_selector("#transcript-text")
        self.keep_an_eye_on_the_text(page)
        a = self.transcript.text.index("group chat")
        self.select(page, a, a + len("group chat"))
        self.pick(page, "community")  # not the code shown: the new excerpt stays hidden
        self.wait_for_excerpts(1)
        page.wait_for_function("() => document.getElementById('coding-area').dataset.sameElement === undefined")
        self.assertEqual(page.locator("mark.hl").count(), 0)
        self.select(page, a, a + len("group chat"))
        self.pick(page, "boundaries")
        self.wait_for_excerpts(2)
        page.wait_for_function("() => document.querySelectorAll('mark.hl').length === 1")
