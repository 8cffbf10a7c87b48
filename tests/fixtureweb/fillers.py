"""Other readouts for the fixture sites, so each site has enough pages for its template to show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Filler:
    """A made-up readout of another meeting: date, title and body paragraphs."""

    date: str  # YYYY-MM-DD
    title: str
    body: tuple[str, ...]


_MEETINGS = [
    ("2019-06-12", "Wang Yi", "Foreign Minister Sergey Lavrov of Russia", "Beijing", "energy and grain trade"),
    ("2019-07-03", "Wang Yi", "Foreign Minister Retno Marsudi of Indonesia", "Jakarta", "maritime cooperation"),
    ("2018-06-20", "Li Keqiang", "Prime Minister Alexis Tsipras of Greece", "Athens", "the port of Piraeus"),
    ("2018-07-11", "Wang Qishan", "President Prokopis Pavlopoulos of Greece", "Beijing", "cultural heritage"),
    ("2023-03-28", "Qin Gang", "Foreign Minister Mauro Vieira of Brazil", "Brasilia", "climate finance"),
    ("2023-04-02", "Li Qiang", "Prime Minister Anwar Ibrahim of Malaysia", "Kuala Lumpur", "the digital economy"),
    ("2022-02-06", "Xi Jinping", "President Kassym-Jomart Tokayev of Kazakhstan", "Beijing", "winter sports"),
    ("2022-02-08", "Han Zheng", "Prime Minister Imran Khan of Pakistan", "Islamabad", "the economic corridor"),
    ("2022-02-10", "Wang Yi", "Foreign Minister Ebrahim Raisi of Iran", "Tehran", "oil and infrastructure"),
]


def _filler(date: str, host: str, guest: str, city: str, topic: str) -> Filler:
    """Write a plausible readout of one meeting; every paragraph names its parties, so no two readouts share one."""
    guest_name = guest.split(" of ")[0].split(" ", 2)[-1]
    country = guest.split(" of ")[-1]
    title = f"{host} Meets with {guest}"
    body = (
        f"On {date}, {host} met with {guest} in {city}. The two sides had an in-depth exchange of views on "
        f"relations between China and {country} and on {topic}.",
        f"{host} said that China and {country} are good friends and partners who trust each other, and that China "
        f"is ready to work with {country} to deepen cooperation on {topic} and deliver more benefits to both peoples.",
        f"{guest_name} said that {country} values its relationship with China and looks forward to closer "
        f"exchanges at all levels, including on {topic}, and to the success of the coming visits.",
        f"Both sides agreed that the talks between {host} and {guest_name} in {city} were candid and productive, "
        f"and that they would stay in close touch on regional issues of common concern.",
    )
    return Filler(date, title, body)


FILLERS = [_filler(*m) for m in _MEETINGS]
