"""Questions a form asks without blocking the event loop (never ``exec()`` in a coroutine)."""

from __future__ import annotations

import asyncio
import contextlib

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

Button = QMessageBox.StandardButton


class QuestionBox(QMessageBox):
    """A message box opened with ``open()`` whose answer a coroutine awaits.

    Tests find the open box with ``parent.findChild(QuestionBox)`` and answer it as a user
    would (a key press or ``button(...).click()``).
    """

    @classmethod
    async def ask(cls, parent: QWidget, title: str, text: str, buttons: Button,
                  default: Button, *, informative: str = "",
                  icon: QMessageBox.Icon = QMessageBox.Icon.Question) -> Button:
        """Show the question and wait for the answer; closing the box answers ``Cancel``.

        Returns:
            The standard button the user chose.
        """
        box = cls(icon, title, text, buttons, parent)
        # Questions quote names and descriptions people typed: plain text, never markup
        # (set before the informative text, which takes the same format).
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setDefaultButton(default)
        if informative:
            box.setInformativeText(informative)
        answer: asyncio.Future[Button] = asyncio.get_running_loop().create_future()

        def finished(_result: int) -> None:
            if not answer.done():
                clicked = box.clickedButton()
                answer.set_result(box.standardButton(clicked) if clicked is not None
                                  else Button.Cancel)

        box.finished.connect(finished)
        box.open()
        try:
            return await answer
        finally:
            # The parent may be gone already (its window closed meanwhile), and the box
            # with it.
            with contextlib.suppress(RuntimeError):
                box.finished.disconnect(finished)
                box.hide()
                box.deleteLater()
