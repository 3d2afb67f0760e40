"""The vocabulary of the demo data: people's names, sites, teams, the catalogue, and what goes
wrong in an office, with the notes and resolutions that go with it.

Plain data only; deskapp.services.demo turns it into callers, agents and incidents. Text in
braces (``{first}``, ``{printer}``...) is filled in per incident.
"""

from __future__ import annotations

from dataclasses import dataclass

from deskapp.domain.enums import HoldReason, ResolutionCode

DOMAIN = "meridian-group.example"
"""The demo company's email domain (``.example`` is reserved, so no mail can go astray)."""

# --- people -----------------------------------------------------------------------------

@dataclass(frozen=True)
class NamePool:
    """First and family names of one language; ``family_first`` for Chinese names."""

    first: tuple[str, ...]
    family: tuple[str, ...]
    family_first: bool = False


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NAMES: dict[str, NamePool] = {
    "en": NamePool(
        first=_names(
            "James Oliver Emma Sophie Zoë Amelia Harry Jack Charlotte Grace Thomas Daniel Hannah "
            "Lucy Megan Ryan Siobhán Niamh Aoife Rhys Olivia George Isla Noah Freya Mohammed "
            "Fatima Chloe Ethan Ruby"),
        family=_names(
            "Smith Jones Taylor Brown Williams Wilson Evans Roberts Walker O'Brien Patel Khan "
            "Hughes Clarke Murphy Wright Green Hall Wood Turner Campbell Kelly Ahmed Byrne "
            "O'Sullivan"),
    ),
    "de": NamePool(
        first=_names(
            "Jürgen Lena Lukas Anna Felix Jonas Mia Katrin Björn Uwe Käthe Maximilian Jörg Sabine "
            "Stefan Leonie Günter Anja"),
        family=_names(
            "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schäfer Groß "
            "Köhler Zimmermann Krüger Hartmann Lange Weiß"),
    ),
    "tr": NamePool(
        first=_names("Ayşe Mehmet Emre Elif Zeynep Burak Özge Can"),
        family=_names("Yılmaz Kaya Demir Çelik Şahin Öztürk Aydın"),  # noqa: RUF001 (Turkish dotless i)
    ),
    "pl": NamePool(
        first=_names(
            "Łukasz Małgorzata Katarzyna Piotr Agnieszka Wojciech Zofia Paweł Michał Joanna "
            "Grzegorz Ewa Tomasz Magdalena"),
        # Family names that are the same for women and men (unlike Kowalski/Kowalska).
        family=_names(
            "Nowak Wójcik Kaczmarek Mazur Krawczyk Zając Król Wieczorek Wróbel Dudek Pawlak "
            "Walczak Sikora Gołąb"),
    ),
    "da": NamePool(
        first=_names(
            "Søren Mette Jens Freja Mads Ida Rasmus Sofie Anders Astrid Bjørn Sørine Åse Frederik"),
        family=_names(
            "Jensen Nielsen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen "
            "Jørgensen Mølgaard Kjær"),
    ),
    "fr": NamePool(
        first=_names(
            "François Chloé Hélène Léa Mathieu Élodie Théo Camille Julien Amélie Benoît Céline "
            "Jérôme Océane"),
        family=_names(
            "Martin Bernard Dubois Robert Lefèvre Girard Moreau Fontaine Lemaître Rousseau "
            "Mercier Bonnet Faure"),
    ),
    "es": NamePool(
        first=_names(
            "José María Mónica Javier Lucía Álvaro Carmen Sergio Inés Pablo Begoña Raúl Nuria "
            "Andrés"),
        family=_names(
            "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Muñoz Núñez "
            "Jiménez Ibáñez"),
    ),
    "zh": NamePool(
        first=_names("娜 伟 敏 静 磊 洋 婷 军 芳 杰 秀英 志强"),
        family=_names("李 王 张 刘 陈 杨 黄 赵 周 吴"),
        family_first=True,
    ),
    "in": NamePool(
        first=_names(
            "Priya Arjun Ananya Rahul Deepika Vikram Sneha Rohan Kavya Aditya Lakshmi Sanjay "
            "Meera"),
        family=_names(
            "Sharma Patel Iyer Reddy Nair Gupta Menon Rao Krishnan Desai Banerjee Chatterjee"),
    ),
}

ROMANISED: dict[str, str] = {
    "娜": "na", "伟": "wei", "敏": "min", "静": "jing", "磊": "lei", "洋": "yang", "婷": "ting",
    "军": "jun", "芳": "fang", "杰": "jie", "秀英": "xiuying", "志强": "zhiqiang", "李": "li",
    "王": "wang", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang", "黄": "huang",
    "赵": "zhao", "周": "zhou", "吴": "wu",
}
"""Pinyin for the Chinese names, for email addresses and user names."""


@dataclass(frozen=True)
class Site:
    """An office: its name, a short code, how its phone numbers look, who works there."""

    name: str
    code: str
    phone: str
    """A format with one ``{}`` for the extension digits, see ``phone_digits``."""
    phone_digits: int
    cultures: tuple[tuple[str, int], ...]
    weight: int


SITES: tuple[Site, ...] = (
    # Numbers from ranges set aside for drama and examples wherever a country has them.
    Site("London HQ", "LON", "+44 20 7946 0{}", 3,
         (("en", 70), ("in", 10), ("pl", 5), ("fr", 5), ("zh", 5), ("es", 5)), 25),
    Site("Manchester", "MAN", "+44 161 496 0{}", 3, (("en", 80), ("pl", 10), ("in", 10)), 8),
    Site("Berlin", "BER", "+49 30 2390 {}", 4, (("de", 70), ("tr", 15), ("pl", 10), ("en", 5)),
         12),
    Site("Warsaw", "WAW", "+48 22 555 {}", 4, (("pl", 90), ("en", 5), ("de", 5)), 10),
    Site("Copenhagen", "CPH", "+45 33 12 {}", 4, (("da", 85), ("en", 10), ("de", 5)), 6),
    Site("Paris", "PAR", "+33 1 99 00 {}", 4, (("fr", 85), ("es", 5), ("en", 5), ("zh", 5)),
         10),
    Site("Madrid", "MAD", "+34 91 555 {}", 4, (("es", 90), ("fr", 5), ("en", 5)), 7),
    Site("New York", "NYC", "+1 212 555 {}", 4,
         (("en", 70), ("es", 15), ("zh", 10), ("in", 5)), 12),
    Site("Shanghai", "SHA", "+86 21 5555 {}", 4, (("zh", 90), ("en", 10)), 5),
    Site("Bangalore", "BLR", "+91 80 5555 {}", 4, (("in", 95), ("en", 5)), 5),
)

DEPARTMENTS: tuple[tuple[str, int], ...] = (
    ("Finance", 12), ("Human Resources", 6), ("Sales", 14), ("Marketing", 7), ("Legal", 3),
    ("Procurement", 5), ("Logistics", 9), ("Engineering", 12), ("Customer Service", 14),
    ("Facilities", 3), ("Research & Development", 8), ("Operations", 10), ("Treasury", 2),
    ("Internal Audit", 2),
)
EXECUTIVE_OFFICE = "Executive Office"
"""Its people are VIPs; they make up most of the ~3% VIP callers."""


@dataclass(frozen=True)
class Team:
    """An assignment group of the demo company's IT."""

    name: str
    description: str
    size: int
    """Members besides the lead."""


SERVICE_DESK = "Service Desk"
TEAMS: tuple[Team, ...] = (
    Team(SERVICE_DESK, "First line: takes calls, resets passwords, routes the rest.", 14),
    Team("Desktop Support", "Laptops, desktops, monitors, printers and peripherals.", 10),
    Team("Network Operations", "LAN, Wi-Fi, VPN, firewalls and internet access.", 6),
    Team("Server & Storage", "Windows and Linux servers, file shares, backups.", 5),
    Team("Identity & Access", "Accounts, groups, MFA and access requests.", 4),
    Team("Messaging & Collaboration", "Exchange Online, Teams, SharePoint and OneDrive.", 5),
    Team("SAP Support", "SAP ERP and BW: basis, authorisations, functional support.", 5),
    Team("Business Applications", "Salesforce, Workday, Concur and the intranet.", 5),
    Team("Security Operations", "Phishing, malware, endpoint protection.", 4),
    Team("Telephony & Mobile", "Desk phones, mobiles and meeting-room equipment.", 3),
    Team("Database Administration", "Oracle and SQL Server databases.", 3),
)
MANAGERS: tuple[str, ...] = ("Head of IT Service Management", "IT Operations Manager",
                             "Applications Manager")

# --- the catalogue -----------------------------------------------------------------------

CATEGORIES: dict[str, tuple[str, ...]] = {
    "Hardware": ("Laptop", "Desktop", "Monitor", "Printer", "Docking station", "Peripherals"),
    "Software": ("Email", "Collaboration", "Office applications", "SAP",
                 "Business applications", "Operating system"),
    "Network": ("VPN", "Wi-Fi", "LAN", "Internet access"),
    "Access": ("Password reset", "Account locked", "Access request", "Permissions", "MFA"),
    "Telephony": ("Desk phone", "Mobile phone", "Meeting rooms"),
    "Security": ("Phishing", "Malware"),
    "Storage": ("File shares", "OneDrive & SharePoint", "Backup & restore"),
    "Database": ("Performance", "Capacity"),
}

SERVICES: tuple[str, ...] = (
    "Email (Exchange Online)", "Microsoft Teams", "Microsoft 365 Apps", "SharePoint Online",
    "OneDrive", "SAP ERP (P01)", "SAP BW (B01)", "Salesforce CRM", "Workday HR",
    "Concur Expense", "Intranet", "Remote access VPN", "Corporate Wi-Fi", "Guest Wi-Fi",
    "Campus LAN", "Internet access", "Active Directory", "Single sign-on (Entra ID)",
    "File server FS01", "File server FS02", "Backup service", "Print service", "Laptop fleet",
    "Desktop fleet", "Mobile devices (Intune)", "Telephony (Cisco)", "Meeting rooms AV",
    "Endpoint protection", "Email security gateway", "Oracle database ORA-PRD1",
    "SQL Server SQLPRD02", "Windows 11 client",
)

CONFIGURATION_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("exch-mbx-db01", "database", "Email (Exchange Online)"),
    ("exch-mbx-db02", "database", "Email (Exchange Online)"),
    ("sap-p01-app01", "server", "SAP ERP (P01)"), ("sap-p01-db01", "database", "SAP ERP (P01)"),
    ("vpn-gw-01", "network", "Remote access VPN"), ("vpn-gw-02", "network", "Remote access VPN"),
    ("wlc-campus-01", "network", "Corporate Wi-Fi"), ("core-sw-01", "network", "Campus LAN"),
    ("dc-01", "server", "Active Directory"), ("dc-02", "server", "Active Directory"),
    ("fs01", "server", "File server FS01"), ("fs02", "server", "File server FS02"),
    ("prt-floor2-east", "other", "Print service"), ("ora-prd1", "database",
                                                    "Oracle database ORA-PRD1"),
    ("sqlprd02", "database", "SQL Server SQLPRD02"), ("intranet-web01", "application",
                                                      "Intranet"),
)
"""Configuration items of the demo's services (name, class, service); incidents name none."""


# --- what goes wrong -------------------------------------------------------------------

Fix = tuple[ResolutionCode, str]
PERMANENT = ResolutionCode.SOLVED_PERMANENTLY
WORKAROUND = ResolutionCode.SOLVED_WORKAROUND
REMOTE = ResolutionCode.SOLVED_REMOTELY


@dataclass(frozen=True)
class Problem:
    """A kind of incident, with everything needed to tell its story.

    Impact and urgency weights are for the bands high, medium and low; holds name the
    reasons this kind of incident waits for.
    """

    category: str
    subcategory: str
    group: str
    services: tuple[str, ...]
    shorts: tuple[str, ...]
    details: tuple[str, ...]
    notes: tuple[str, ...]
    fixes: tuple[Fix, ...]
    weight: int = 4
    impact: tuple[int, int, int] = (5, 55, 40)
    urgency: tuple[int, int, int] = (10, 60, 30)
    holds: tuple[HoldReason, ...] = (HoldReason.AWAITING_CALLER,)
    first_line: float = 0.1
    """The share the service desk solves while the caller is still on the line."""
    monitoring: bool = False
    """Raised by monitoring rather than by a person."""


_CALLER = HoldReason.AWAITING_CALLER
_VENDOR = HoldReason.AWAITING_VENDOR
_CHANGE = HoldReason.AWAITING_CHANGE

PROBLEMS: tuple[Problem, ...] = (
    # --- email
    Problem(
        "Software", "Email", "Messaging & Collaboration", ("Email (Exchange Online)",),
        ("Outlook keeps asking for password", "Outlook prompts for credentials every few minutes",
         "Password prompt loop in Outlook"),
        ("Since {when}, Outlook asks {first} for the password again and again. The password "
         "is accepted, but the prompt comes back after a few minutes.",
         "The password prompt started right after {first} changed the Windows password. "
         "Webmail (OWA) works fine with the same password."),
        ("Cleared cached credentials in Windows Credential Manager.",
         "Sign-in logs show repeated modern-auth failures from the Outlook client.",
         "Outlook profile recreated; waiting for the mailbox to synchronise."),
        ((PERMANENT, "Removed stale credentials from Windows Credential Manager and signed "
          "Outlook in again; the prompt no longer appears."),
         (WORKAROUND, "Recreated the Outlook profile. Caller uses OWA should the prompt "
          "return while we watch the sign-in logs.")),
        weight=7, first_line=0.35,
    ),
    Problem(
        "Software", "Email", "Messaging & Collaboration", ("Email (Exchange Online)",),
        ("Emails stuck in Outbox", "Cannot send email - messages stay in the Outbox",
         "Outlook: sending fails with error {outlook_error}"),
        ("Messages from {first} stay in the Outbox; Outlook reports {outlook_error} when "
         "sending.",
         "{first} cannot send any email since {when}. Receiving works."),
        ("Message trace shows nothing leaving the client.",
         "A {mb} MB attachment is blocking the Outbox; asked the caller to remove it.",
         "Checked the mailbox quota: {quota}% used."),
        ((PERMANENT, "Removed the oversized message blocking the Outbox; mail flows again."),
         (REMOTE, "Repaired the Outlook data file remotely; test message sent and received.")),
        weight=4,
    ),
    Problem(
        "Software", "Email", "Messaging & Collaboration", ("Email (Exchange Online)",),
        ("Mailbox full - cannot receive email", "Mailbox almost full warning",
         "Senders get 'mailbox full' bounces"),
        ("{first} gets a warning that the mailbox is almost full and external senders "
         "receive bounces.",
         "The mailbox of {first} is at {quota}% and new mail is rejected."),
        ("Checked the mailbox size: most of it is in Sent Items.",
         "Enabled the online archive for the mailbox."),
        ((PERMANENT, "Online archive enabled and the retention policy applied; the mailbox "
          "is down to 60%."),),
        weight=2, urgency=(5, 50, 45), first_line=0.3,
    ),
    Problem(
        "Software", "Email", "Messaging & Collaboration", ("Email (Exchange Online)",),
        ("Shared mailbox {mailbox} not showing in Outlook",
         "Shared mailbox {mailbox} disappeared"),
        ("The shared mailbox {mailbox} disappeared from {first}'s Outlook after the weekend.",
         "{first} no longer sees the shared mailbox {mailbox} in Outlook."),
        ("Mailbox permissions checked: full access present, auto-mapping off.",
         "Re-granted full access with auto-mapping."),
        ((PERMANENT, "Re-added the shared mailbox with auto-mapping; it shows again."),
         (WORKAROUND, "Caller added the shared mailbox manually as an additional account.")),
        weight=2, urgency=(5, 50, 45),
    ),
    # --- collaboration
    Problem(
        "Software", "Collaboration", "Messaging & Collaboration", ("Microsoft Teams",),
        ("Teams calls drop after a few minutes", "Teams call quality poor, then drops"),
        ("Calls in Teams drop after {minutes} minutes; the other side hears {first} as "
         "robotic before it drops.",
         "Every Teams call of {first} breaks up and drops, at the office and at home."),
        ("Call quality dashboard shows high jitter on the caller's connection.",
         "Updated the Teams client and the network driver."),
        ((PERMANENT, "Network driver updated and power saving disabled on the adapter; calls "
          "are stable."),
         (WORKAROUND, "Caller uses a cable instead of Wi-Fi for calls until the access point "
          "is replaced.")),
        weight=3,
    ),
    Problem(
        "Software", "Collaboration", "Messaging & Collaboration", ("Microsoft Teams",),
        ("No audio in Teams meetings", "Cannot hear anyone in Teams"),
        ("{first} can see the presenter's screen but hears nothing in meetings.",
         "Teams meetings have no sound for {first}; other apps play audio fine."),
        ("Audio device was set to the docking station's output; changed to the headset.",),
        ((REMOTE, "Set the right default audio device remotely; test call fine."),),
        weight=2, impact=(1, 19, 80), first_line=0.5,
    ),
    Problem(
        "Software", "Collaboration", "Messaging & Collaboration", ("Microsoft Teams",),
        ("Teams won't start - white screen", "Teams stuck on loading"),
        ("Teams opens as a white window and never loads. Reinstalling did not help.",),
        ("Cleared the Teams cache.", "Signed out of all Office apps and in again."),
        ((PERMANENT, "Cleared the Teams cache and updated the client; it starts normally."),
         (WORKAROUND, "Caller uses Teams on the web until the client update is rolled out.")),
        weight=2, first_line=0.4,
    ),
    # --- office applications
    Problem(
        "Software", "Office applications", "Desktop Support", ("Microsoft 365 Apps",),
        ("Excel crashes when opening {workbook}", "Excel closes without a message"),
        ("Excel closes without a message as soon as {first} opens {workbook}. Other workbooks "
         "open fine.",),
        ("Started Excel in safe mode: the workbook opens, so an add-in is likely.",
         "Disabled the COM add-in '{addin}'."),
        ((PERMANENT, "Faulty add-in '{addin}' disabled; Excel opens the workbook normally."),
         (WORKAROUND, "Add-in disabled until the vendor's fixed version is packaged.")),
        weight=3, first_line=0.15,
    ),
    Problem(
        "Software", "Office applications", "Desktop Support", ("Microsoft 365 Apps",),
        ("Word document corrupted - cannot open {document}",
         "Cannot open {document}: file is corrupt"),
        ("Word says the file {document} is corrupt. It was saved to {share} yesterday.",),
        ("Open and Repair failed.", "Restored the previous version of the file from {share}."),
        ((PERMANENT, "Previous version of the document restored from the file server."),),
        weight=2, urgency=(15, 60, 25),
    ),
    Problem(
        "Software", "Office applications", "Desktop Support", ("Microsoft 365 Apps",),
        ("Microsoft 365: 'product deactivated' banner", "Office says unlicensed product"),
        ("All Office apps show a red 'product deactivated' bar and editing is disabled.",),
        ("Licence shows as assigned; signed out and in again to refresh the token.",),
        ((REMOTE, "Reset the Office activation and signed in again; the banner is gone."),),
        weight=2, first_line=0.6,
    ),
    # --- SAP
    Problem(
        "Software", "SAP", "SAP Support", ("SAP ERP (P01)",),
        ("SAP: no authorisation for transaction {tcode}",
         "Cannot post invoice in FB60 - authorisation error"),
        ("Posting fails for {first} with 'You are not authorized for company code {company}'.",
         "{first} in {dept} gets 'No authorization for transaction {tcode}'."),
        ("Checked SU53: missing authorisation object {authobj}.",
         "Role change requested from the SAP security team.",
         "Waiting for the role owner's approval."),
        ((PERMANENT, "Role {role} assigned after the role owner's approval; the transaction "
          "works."),),
        weight=3, urgency=(10, 60, 30), holds=(_CALLER, _CHANGE),
    ),
    Problem(
        "Software", "SAP", "SAP Support", ("SAP ERP (P01)", "SAP BW (B01)"),
        ("SAP transaction {tcode} very slow", "SAP very slow for {dept}"),
        ("{tcode} takes more than {minutes} minutes to respond for {first} in {dept}.",
         "Since {when} every SAP screen takes ages to load for {first}."),
        ("ST22 shows TIME_OUT short dumps for this user.",
         "Logon load balancing sends the user to app server {app_server}; it is swapping."),
        ((PERMANENT, "Application server {app_server} restarted after a memory leak; response "
          "times are normal."),
         (WORKAROUND, "User moved to another logon group until the server is patched.")),
        weight=2, impact=(10, 60, 30), urgency=(15, 60, 25), holds=(_VENDOR, _CHANGE),
    ),
    Problem(
        "Software", "SAP", "SAP Support", ("SAP ERP (P01)",),
        ("SAP GUI error 'RFC connection failed'", "SAP logon fails: RFC error"),
        ("When {first} starts {tcode} the SAP GUI shows 'RFC connection failed' and returns "
         "to the menu.",),
        ("SAP GUI version outdated on the laptop.", "Checked SM59: destination fine."),
        ((PERMANENT, "SAP GUI updated to the current patch level; RFC calls work."),),
        weight=2,
    ),
    Problem(
        "Software", "SAP", SERVICE_DESK, ("SAP ERP (P01)",),
        ("SAP user locked", "SAP password reset"),
        ("{first} locked the SAP user after too many wrong passwords.",),
        ("Identity verified by call-back.",),
        ((REMOTE, "SAP user unlocked and an initial password set."),),
        weight=2, impact=(1, 9, 90), urgency=(10, 60, 30), first_line=0.9,
    ),
    # --- business applications
    Problem(
        "Software", "Business applications", "Business Applications", ("Salesforce CRM",),
        ("Salesforce report shows no data", "Salesforce dashboard empty for {first}"),
        ("The report '{report}' is empty for {first} although colleagues see figures.",),
        ("Sharing rules checked: the caller is missing from the regional role.",),
        ((PERMANENT, "Caller added to the correct role hierarchy; the report shows data."),),
        weight=2, urgency=(5, 55, 40),
    ),
    Problem(
        "Software", "Business applications", "Business Applications", ("Workday HR",),
        ("Workday: cannot submit timesheet", "Timesheet submission error in Workday"),
        ("Submitting the timesheet in Workday ends with 'Something went wrong'.",),
        ("Reproduced with a test user; raised with the vendor, case {case}.",),
        ((WORKAROUND, "Timesheet submitted on the caller's behalf while the vendor fixes the "
          "bug."),
         (PERMANENT, "Vendor fixed the validation rule; submission works.")),
        weight=2, urgency=(5, 55, 40), holds=(_VENDOR,),
    ),
    Problem(
        "Software", "Business applications", "Business Applications", ("Concur Expense",),
        ("Concur expense report stuck in approval", "Expense report {expense} not approved"),
        ("Expense report {expense} has been waiting for approval for {days} days; the "
         "approver left the company.",),
        ("Approval workflow still points at a deactivated manager.",),
        ((PERMANENT, "Approval rerouted to the new cost-centre manager."),),
        weight=2, urgency=(2, 38, 60),
    ),
    # --- network
    Problem(
        "Network", "VPN", "Network Operations", ("Remote access VPN",),
        ("VPN disconnects every 10 minutes", "VPN keeps dropping", "VPN unstable from home"),
        ("Working from home, {first}'s VPN drops every {minutes} minutes and reconnects, "
         "which breaks Teams calls and SAP sessions.",
         "The VPN connection of {first} drops several times an hour since {when}."),
        ("Gateway logs show the session ending on dead-peer detection.",
         "Updated the VPN client to the current version.",
         "Home router firmware is old; asked the caller to update it."),
        ((PERMANENT, "Updated the VPN client and reset the network stack; connection stable "
          "for two days."),
         (WORKAROUND, "Switched the client to the SSL fallback; stable, a little slower.")),
        weight=4, urgency=(15, 60, 25), holds=(_CALLER,),
    ),
    Problem(
        "Network", "VPN", "Network Operations", ("Remote access VPN",),
        ("VPN won't connect - error 809", "Cannot connect to VPN"),
        ("The VPN client fails with error 809 on {first}'s home network; it works on a phone "
         "hotspot.",),
        ("Client logs show IKE timeouts; the home router blocks UDP 500/4500.",),
        ((WORKAROUND, "Switched the client to the SSL fallback; connects from home."),),
        weight=2, urgency=(15, 60, 25), holds=(_CALLER,), first_line=0.3,
    ),
    Problem(
        "Network", "VPN", "Network Operations", ("Remote access VPN",),
        ("VPN connected but cannot reach intranet", "No internal sites over VPN"),
        ("The VPN shows connected but internal sites and {share} cannot be reached.",),
        ("Split-tunnel profile missing on the laptop.",),
        ((PERMANENT, "Pushed the correct VPN profile; internal resources reachable."),),
        weight=2, urgency=(15, 60, 25),
    ),
    Problem(
        "Network", "Wi-Fi", "Network Operations", ("Corporate Wi-Fi",),
        ("Wi-Fi drops in meeting room {room}", "Wi-Fi unstable in meeting room {room}"),
        ("In meeting room {room} at {site} the Wi-Fi drops several times per meeting.",),
        ("Access point {ap} shows many retries; channel overlap with the neighbour.",
         "Site survey booked for meeting room {room}."),
        ((PERMANENT, "Access point {ap} moved to a free channel and its power adjusted."),
         (WORKAROUND, "Caller uses a cable in the meeting room until the extra access point "
          "is installed.")),
        weight=2, holds=(_CHANGE,),
    ),
    Problem(
        "Network", "Wi-Fi", "Network Operations", ("Corporate Wi-Fi",),
        ("Cannot connect to corporate Wi-Fi after laptop replacement",
         "New laptop does not join the corporate Wi-Fi"),
        ("{first}'s new laptop does not see the certificate for the corporate Wi-Fi.",),
        ("Wi-Fi certificate not yet enrolled on the new device; forced a policy update.",),
        ((PERMANENT, "Device certificate enrolled; the laptop joins the corporate Wi-Fi."),),
        weight=2, first_line=0.3,
    ),
    Problem(
        "Network", "Wi-Fi", "Network Operations", ("Guest Wi-Fi",),
        ("Guest Wi-Fi voucher not working", "Visitors cannot use guest Wi-Fi"),
        ("Visitors at {site} reception get 'voucher invalid' on the guest Wi-Fi.",),
        ("Guest portal clock was out of sync; NTP corrected.",),
        ((PERMANENT, "Guest portal time synchronised; vouchers accepted."),),
        weight=1, urgency=(20, 60, 20),
    ),
    Problem(
        "Network", "LAN", "Network Operations", ("Campus LAN",),
        ("No network on desk port {port}", "Desk network port dead"),
        ("The wall port {port} at {first}'s desk gives no link; another port works.",),
        ("Port {port} was shut down on the switch by port security; re-enabled.",),
        ((PERMANENT, "Re-patched the desk port and enabled it on switch {switch}."),),
        weight=2, impact=(1, 19, 80), first_line=0.1,
    ),
    Problem(
        "Network", "LAN", "Network Operations", ("Campus LAN",),
        ("Network very slow on floor {floor} at {site}", "Slow network on floor {floor}"),
        ("Everyone on floor {floor} at {site} reports slow file copies and choppy calls since "
         "{when}.",),
        ("Uplink of the floor switch running at 100 Mb/s.",
         "Replacement cable and SFP ordered."),
        ((PERMANENT, "Faulty uplink cable replaced; gigabit restored."),),
        weight=1, impact=(15, 70, 15), urgency=(15, 60, 25), holds=(_CHANGE, _VENDOR),
    ),
    Problem(
        "Network", "Internet access", "Network Operations", ("Internet access",),
        ("Website blocked incorrectly by proxy", "Supplier portal {portal} blocked"),
        ("The proxy blocks {portal} as 'uncategorised', but {first} needs it for orders.",),
        ("Submitted the site for re-categorisation.",
         "Exception approved by the information security officer."),
        ((PERMANENT, "Proxy category corrected; the site is reachable."),
         (WORKAROUND, "Temporary allow-list entry added while the vendor re-categorises.")),
        weight=2, urgency=(5, 50, 45), holds=(_VENDOR, _CHANGE),
    ),
    # --- hardware
    Problem(
        "Hardware", "Printer", "Desktop Support", ("Print service",),
        ("Printer {printer} shows paper jam but no paper is stuck",
         "Paper jam error on {printer}"),
        ("{printer} on floor {floor} at {site} reports a paper jam in tray 2. Nothing is "
         "stuck and nobody on the floor can print.",),
        ("Remote check of the printer panel: sensor error in tray 2.",
         "Engineer visit booked with {vendor}, case {case}."),
        ((PERMANENT, "{vendor} engineer replaced the tray 2 sensor; printing normally."),),
        weight=3, impact=(3, 47, 50), urgency=(5, 55, 40), holds=(_VENDOR,),
    ),
    Problem(
        "Hardware", "Printer", "Desktop Support", ("Print service",),
        ("Cannot print to {printer} - job stays in queue", "Print jobs stuck for {printer}"),
        ("Print jobs from {first} to {printer} stay in the queue as 'spooling'.",),
        ("Cleared the print queue on the print server and restarted the spooler.",),
        ((REMOTE, "Cleared the stuck queue and restarted the spooler; jobs printed."),),
        weight=3, impact=(2, 38, 60), first_line=0.3,
    ),
    Problem(
        "Hardware", "Printer", "Desktop Support", ("Print service",),
        ("Scan to email not working on {printer}", "Scans from {printer} never arrive"),
        ("Scans from {printer} never arrive by email since the password change of the scan "
         "account.",),
        ("Updated the SMTP credentials on the printer.",),
        ((PERMANENT, "SMTP credentials updated on {printer}; scan to email works."),),
        weight=2, impact=(2, 38, 60),
    ),
    Problem(
        "Hardware", "Laptop", "Desktop Support", ("Laptop fleet",),
        ("Laptop won't power on", "Laptop dead - power LED blinks amber"),
        ("{first}'s {model} (asset {asset}) does not start; the power LED blinks amber.",),
        ("Hardware diagnostics: battery failed.",
         "Replacement battery ordered from {vendor}, case {case}.",
         "Loan laptop handed out while the device is repaired."),
        ((PERMANENT, "Battery replaced under warranty by {vendor}; device tested."),
         (WORKAROUND, "Loan laptop issued until the repaired device is back.")),
        weight=2, impact=(1, 29, 70), urgency=(20, 60, 20), holds=(_VENDOR,),
    ),
    Problem(
        "Hardware", "Laptop", "Desktop Support", ("Laptop fleet",),
        ("Laptop very slow since update", "Laptop takes ages to start"),
        ("Since the last update {first}'s {model} takes {minutes} minutes to boot and apps "
         "freeze.",),
        ("Disk at 100% usage by the indexing service; rebuilt the index.",
         "BIOS and drivers updated."),
        ((PERMANENT, "Rebuilt the search index and updated the storage driver; boots in "
          "under a minute."),
         (PERMANENT, "Device re-imaged and user data restored from OneDrive.")),
        weight=3, impact=(1, 19, 80),
    ),
    Problem(
        "Hardware", "Laptop", "Desktop Support", ("Laptop fleet",),
        ("Blue screen on startup - {bsod}", "Laptop crashes with {bsod}"),
        ("The {model} of {first} shows a blue screen with {bsod} during startup.",),
        ("Crash dump points at the graphics driver.", "Booted into safe mode; rolled back "
         "the driver."),
        ((PERMANENT, "Driver rolled back and the update paused; boots normally."),),
        weight=2, impact=(1, 29, 70), urgency=(20, 60, 20),
    ),
    Problem(
        "Hardware", "Laptop", "Desktop Support", ("Laptop fleet",),
        ("Cracked laptop screen", "Laptop screen broken after a fall"),
        ("The screen of {first}'s {model} cracked after a fall; it still works with an "
         "external monitor.",),
        ("Screen replacement ordered from {vendor}, case {case}.",),
        ((PERMANENT, "Screen replaced by {vendor}; device returned to the caller."),
         (ResolutionCode.NOT_SOLVED_TOO_COSTLY, "Repair costs more than the device is worth; "
          "replacement laptop ordered via procurement.")),
        weight=2, impact=(1, 19, 80), holds=(_VENDOR,),
    ),
    Problem(
        "Hardware", "Monitor", "Desktop Support", ("Desktop fleet",),
        ("Second monitor not detected", "Monitor shows 'no signal'"),
        ("The second monitor at {first}'s desk stays black; it worked yesterday.",),
        ("Swapped the DisplayPort cable.",),
        ((PERMANENT, "Faulty cable replaced; both monitors work."),
         (PERMANENT, "Monitor replaced from stock.")),
        weight=2, impact=(1, 19, 80), urgency=(5, 45, 50), first_line=0.2,
    ),
    Problem(
        "Hardware", "Docking station", "Desktop Support", ("Laptop fleet",),
        ("Docking station: no display and no USB", "Dock not working"),
        ("When docked, {first}'s laptop shows nothing on the monitors and the keyboard does "
         "not react.",),
        ("Updated the dock firmware.", "Swapped the dock with a spare."),
        ((PERMANENT, "Dock firmware updated; displays and USB work."),
         (PERMANENT, "Dock replaced.")),
        weight=3, impact=(1, 24, 75), first_line=0.15,
    ),
    Problem(
        "Hardware", "Peripherals", "Desktop Support", ("Desktop fleet",),
        ("Keyboard and mouse not working", "Wireless keyboard stopped working"),
        ("The wireless keyboard and mouse stopped working; new batteries did not help.",),
        ("Re-paired the receiver.",),
        ((PERMANENT, "Keyboard and mouse replaced from stock."),),
        weight=2, impact=(1, 14, 85), urgency=(5, 40, 55), first_line=0.3,
    ),
    Problem(
        "Hardware", "Peripherals", "Desktop Support", ("Desktop fleet",),
        ("Headset not recognised", "USB headset not working"),
        ("The USB headset of {first} is not listed as an audio device.",),
        ("Driver reinstalled.",),
        ((REMOTE, "Driver reinstalled remotely; headset works."),),
        weight=1, impact=(1, 14, 85), urgency=(5, 40, 55), first_line=0.4,
    ),
    Problem(
        "Software", "Operating system", "Desktop Support", ("Windows 11 client",),
        ("Windows update fails with {win_error}", "Update keeps rolling back"),
        ("The monthly update fails with {win_error} and rolls back at every restart.",),
        ("Ran the update troubleshooter and DISM.",),
        ((PERMANENT, "Component store repaired; update installed."),),
        weight=2, urgency=(2, 38, 60),
    ),
    Problem(
        "Software", "Operating system", SERVICE_DESK, ("Windows 11 client",),
        ("BitLocker recovery key requested at startup", "Laptop asks for BitLocker key"),
        ("{first}'s laptop asks for the BitLocker recovery key after a BIOS update.",),
        ("Recovery key read out from Intune after an identity check.",),
        ((REMOTE, "Recovery key provided after an identity check; protection resumed."),),
        weight=2, impact=(1, 19, 80), urgency=(30, 60, 10), first_line=0.9,
    ),
    # --- access
    Problem(
        "Access", "Password reset", SERVICE_DESK, ("Active Directory",),
        ("Password reset for {first}", "Forgot Windows password",
         "Password expired while on holiday"),
        ("{first} cannot log in after the holidays; the password expired.",
         "{first} forgot the password after last week's change."),
        ("Identity verified with two security questions.",),
        ((REMOTE, "Identity verified; password reset, to be changed at the next logon."),),
        weight=8, impact=(1, 9, 90), urgency=(10, 60, 30), first_line=0.9,
    ),
    Problem(
        "Access", "Account locked", SERVICE_DESK, ("Active Directory",),
        ("Account locked out", "Account locked after password change",
         "Account keeps locking every morning"),
        ("{first}'s account locks several times a day since the password change.",
         "The account of {first} is locked; nothing can be opened."),
        ("Lockout source: the old password saved in the phone's mail app.",
         "Unlocked; watching the lockout events."),
        ((PERMANENT, "Removed the old credentials from the phone; no further lockouts."),
         (REMOTE, "Account unlocked after an identity check.")),
        weight=6, impact=(1, 14, 85), urgency=(20, 60, 20), first_line=0.8,
    ),
    Problem(
        "Access", "Access request", "Identity & Access", ("File server FS01", "File server FS02"),
        ("Access request: {share} for {dept}", "Need write access to {share}"),
        ("{first} from {dept} needs read/write access to {share}; approved by the line "
         "manager.",),
        ("Waiting for the data owner's approval.", "Added to the security group {group_name}."),
        ((PERMANENT, "Access granted after the owner's approval; the caller confirmed."),),
        weight=3, impact=(1, 9, 90), urgency=(2, 38, 60), holds=(_CALLER,),
    ),
    Problem(
        "Access", "Access request", "Identity & Access", ("Email (Exchange Online)",),
        ("Add {first} to distribution list {dl}", "Distribution list membership: {dl}"),
        ("Please add {first} to the distribution list {dl}.",),
        ("Owner of {dl} approved.",),
        ((PERMANENT, "Added to {dl}; membership effective after the next logon."),),
        weight=2, impact=(1, 9, 90), urgency=(2, 28, 70), first_line=0.3,
    ),
    Problem(
        "Access", "Access request", "Identity & Access", ("Active Directory",),
        ("New starter needs access like a colleague", "Set up access for new starter in "
         "{dept}"),
        ("{first} started in {dept} and needs the same access as a colleague.",),
        ("Compared group memberships with the colleague.", "Waiting for the manager's "
         "approval of the SAP roles."),
        ((PERMANENT, "Groups and roles copied after approval; the starter can work."),),
        weight=2, impact=(1, 19, 80), urgency=(10, 60, 30), holds=(_CALLER,),
    ),
    Problem(
        "Access", "Permissions", "Identity & Access", ("File server FS01", "File server FS02"),
        ("Access denied on {share}", "Cannot open folder on {share}"),
        ("{first} gets 'access denied' on {share} since {when}; colleagues in {dept} can "
         "open it.",),
        ("Group membership correct; the token was stale.",
         "Inheritance broken on the subfolder."),
        ((PERMANENT, "ACL on the folder corrected; access works."),
         (REMOTE, "Caller signed out and in to refresh the group membership.")),
        weight=3, urgency=(5, 55, 40),
    ),
    Problem(
        "Access", "MFA", "Identity & Access", ("Single sign-on (Entra ID)",),
        ("New phone - MFA not working", "Authenticator app not receiving push notifications"),
        ("{first} replaced the phone and cannot approve sign-ins any more.",
         "MFA push notifications do not reach {first}'s phone; codes from the app are "
         "rejected."),
        ("Identity verified by video call.",
         "Existing MFA methods removed; re-registration required."),
        ((REMOTE, "MFA methods reset; the caller registered the phone again."),),
        weight=4, impact=(1, 19, 80), urgency=(25, 55, 20), first_line=0.5,
    ),
    # --- telephony
    Problem(
        "Telephony", "Desk phone", "Telephony & Mobile", ("Telephony (Cisco)",),
        ("Desk phone shows 'Registering'", "No dial tone on desk phone"),
        ("The desk phone of {first} at {site} keeps showing 'Registering'.",),
        ("Phone re-provisioned.", "PoE port checked on the switch."),
        ((PERMANENT, "Phone re-registered after a firmware update."),),
        weight=2, impact=(1, 19, 80), urgency=(5, 45, 50),
    ),
    Problem(
        "Telephony", "Mobile phone", "Telephony & Mobile", ("Mobile devices (Intune)",),
        ("Email not syncing on mobile phone", "Company portal: phone not compliant"),
        ("Mail on {first}'s phone stopped syncing; the Company Portal says the phone is not "
         "compliant.",),
        ("Device shows non-compliant: OS version too old.",),
        ((PERMANENT, "Phone updated and compliant again; mail syncs."),),
        weight=2, urgency=(10, 55, 35), holds=(_CALLER,),
    ),
    Problem(
        "Telephony", "Mobile phone", "Telephony & Mobile", ("Mobile devices (Intune)",),
        ("Lost mobile phone - please wipe", "Company phone stolen"),
        ("{first} lost the company phone on the way home; please wipe it.",),
        ("Remote wipe issued from Intune.", "Replacement phone ordered."),
        ((PERMANENT, "Phone wiped remotely and blocked; replacement issued."),),
        weight=1, impact=(5, 25, 70), urgency=(50, 40, 10), holds=(_VENDOR,),
    ),
    Problem(
        "Telephony", "Meeting rooms", "Telephony & Mobile", ("Meeting rooms AV",),
        ("Meeting room {room}: screen not working",
         "No picture on the screen in meeting room {room}"),
        ("The screen in meeting room {room} at {site} shows 'no signal' with every laptop.",),
        ("Engineer on site: the HDMI switcher is faulty.",),
        ((PERMANENT, "HDMI switcher replaced; the room works."),),
        weight=1, impact=(5, 45, 50), urgency=(25, 55, 20), holds=(_VENDOR,),
    ),
    Problem(
        "Telephony", "Meeting rooms", "Telephony & Mobile", ("Meeting rooms AV",),
        ("Room system in meeting room {room} has no sound",
         "Remote participants cannot hear meeting room {room}"),
        ("Remote participants cannot hear anyone in meeting room {room}.",),
        ("Room system rebooted; the ceiling microphone was muted in its settings.",),
        ((REMOTE, "Room system restarted and reconfigured remotely."),),
        weight=1, impact=(5, 45, 50), urgency=(25, 55, 20),
    ),
    # --- security
    Problem(
        "Security", "Phishing", "Security Operations", ("Email security gateway",),
        ("Suspicious email received - possible phishing", "Email asking to confirm bank "
         "details"),
        ("{first} received an email pretending to be from {vendor} asking to 'verify the "
         "account'.",),
        ("Message purged from all mailboxes.", "Sender domain blocked on the gateway."),
        ((PERMANENT, "Phishing message removed tenant-wide and the sender blocked."),
         (PERMANENT, "Reported message analysed: part of a phishing simulation; caller "
          "thanked.")),
        weight=3, impact=(5, 45, 50), urgency=(20, 60, 20), first_line=0.2,
    ),
    Problem(
        "Security", "Phishing", "Security Operations", ("Single sign-on (Entra ID)",),
        ("Clicked a link in a phishing email", "Entered password on a fake login page"),
        ("{first} clicked the link in an email about a parcel and entered the password.",),
        ("Password reset and sessions revoked.", "Checked sign-ins: no suspicious logins."),
        ((PERMANENT, "Credentials reset, sessions revoked, no misuse found in the sign-in "
          "logs."),),
        weight=1, impact=(20, 60, 20), urgency=(60, 35, 5),
    ),
    Problem(
        "Security", "Malware", "Security Operations", ("Endpoint protection",),
        ("Antivirus alert: threat quarantined", "Malware detected on {asset}"),
        ("Monitoring: endpoint protection quarantined a file in the downloads folder of "
         "{asset}.",),
        ("Isolated the device from the network pending a full scan.", "Full scan clean."),
        ((PERMANENT, "Threat removed; full scan clean; device released from isolation."),),
        weight=1, impact=(10, 50, 40), urgency=(30, 50, 20), monitoring=True,
    ),
    Problem(
        "Security", "Malware", "Security Operations", ("Endpoint protection",),
        ("Endpoint protection blocks {app}", "{app} blocked as unwanted software"),
        ("{app} is blocked as potentially unwanted since the last signature update.",),
        ("False positive submitted to the vendor.",),
        ((WORKAROUND, "Exclusion added for the signed binary while the vendor fixes the "
          "false positive."),),
        weight=1, impact=(1, 29, 70), urgency=(5, 55, 40), holds=(_VENDOR,),
    ),
    # --- storage
    Problem(
        "Storage", "File shares", "Server & Storage", ("File server FS01",),
        ("H: drive missing", "Network drive H: not mapped"),
        ("After logging in, {first}'s H: drive is missing; the other drives are there.",),
        ("Drive mapping policy not applied; forced an update.",),
        ((REMOTE, "Drive mappings re-applied; H: is back."),),
        weight=2, impact=(1, 29, 70), urgency=(10, 55, 35), first_line=0.4,
    ),
    Problem(
        "Storage", "File shares", "Server & Storage", ("File server FS01", "File server FS02"),
        ("Deleted folder on {share} - please restore", "Restore request: {folder}"),
        ("{first} deleted the folder '{folder}' on {share} by mistake yesterday.",),
        ("Found the folder in last night's snapshot.",),
        ((PERMANENT, "Folder '{folder}' restored from the snapshot of the previous night."),),
        weight=2, impact=(1, 29, 70), urgency=(10, 60, 30),
    ),
    Problem(
        "Storage", "OneDrive & SharePoint", "Messaging & Collaboration", ("OneDrive",),
        ("OneDrive not syncing - red cross", "OneDrive stuck on 'processing changes'"),
        ("OneDrive shows a red cross and {n} files are waiting to upload.",),
        ("A file name with a trailing space blocks the sync.", "Reset the OneDrive client."),
        ((PERMANENT, "Renamed the blocking file and reset OneDrive; files synchronised."),),
        weight=2,
    ),
    Problem(
        "Storage", "OneDrive & SharePoint", "Messaging & Collaboration", ("SharePoint Online",),
        ("Cannot open SharePoint site {site_name}", "Access denied on SharePoint site "
         "{site_name}"),
        ("The SharePoint site {site_name} returns 'access denied' for {first} since {when}.",),
        ("Site permissions inherited from the wrong group.",),
        ((PERMANENT, "Site permissions corrected; the caller can open the site."),),
        weight=2, urgency=(5, 55, 40),
    ),
    Problem(
        "Storage", "Backup & restore", "Server & Storage", ("Backup service",),
        ("Backup job failed on {server}", "Backup window exceeded on {server}"),
        ("Monitoring: the nightly backup of {server} failed with 'snapshot timeout'.",),
        ("Re-ran the job manually: succeeded.", "Storage latency high during the window."),
        ((PERMANENT, "Job moved outside the storage maintenance window; the last three runs "
          "succeeded."),
         (WORKAROUND, "Manual backup taken; the vendor is analysing the agent.")),
        weight=2, impact=(5, 45, 50), urgency=(5, 50, 45), holds=(_VENDOR, _CHANGE),
        monitoring=True,
    ),
    # --- databases
    Problem(
        "Database", "Performance", "Database Administration",
        ("Oracle database ORA-PRD1", "SQL Server SQLPRD02"),
        ("Reports time out on {service}", "Long-running queries on {service}"),
        ("Monitoring: average query time on {service} above the threshold since {when}.",),
        ("Missing index on the ledger table identified.",
         "Statistics gathered; the plan changed back."),
        ((PERMANENT, "Index added in a change; reports are back to normal."),
         (WORKAROUND, "Pinned the previous execution plan until the change is approved.")),
        weight=2, impact=(10, 60, 30), urgency=(10, 60, 30), holds=(_CHANGE,),
        monitoring=True,
    ),
    Problem(
        "Database", "Capacity", "Database Administration",
        ("Oracle database ORA-PRD1", "SQL Server SQLPRD02"),
        ("Disk space alert on {service}", "Data volume almost full on {service}"),
        ("Monitoring: the data volume on {service} is {quota}% full.",),
        ("Old transaction log backups removed.", "Volume extension requested."),
        ((PERMANENT, "Volume extended by 200 GB."),
         (WORKAROUND, "Log backups moved to archive storage.")),
        weight=2, impact=(5, 55, 40), urgency=(10, 60, 30), holds=(_CHANGE,),
        monitoring=True,
    ),
)


@dataclass(frozen=True)
class Outage:
    """A major incident and the calls it brings in while it lasts."""

    category: str
    subcategory: str
    group: str
    service: str
    short: str
    description: str
    updates: tuple[str, ...]
    fix: str
    child_shorts: tuple[str, ...]
    child_detail: str
    child_subcategory: str


OUTAGES: tuple[Outage, ...] = (
    Outage(
        "Software", "SAP", "SAP Support", "SAP ERP (P01)",
        "SAP ERP (P01) unavailable for all users",
        "Since {time} no one can log in to SAP ERP (P01); logon fails with 'no free work "
        "process'. Order entry and invoicing are stopped at all sites.",
        ("Bridge call opened; SAP basis and DBA on the call.",
         "Database archiver stuck: archive log destination full.",
         "Archive logs moved; database resumed.",
         "Application servers restarted one by one; logons succeed again."),
        "Archive log destination was full and the database halted. Space freed, monitoring "
        "threshold lowered, post-incident review scheduled.",
        ("Cannot log in to SAP", "SAP hangs on the login screen", "SAP error 'no free work "
         "process'", "Cannot create sales orders in SAP"),
        "{first} cannot log in to SAP; colleagues in {dept} have the same problem.",
        "SAP",
    ),
    Outage(
        "Software", "Email", "Messaging & Collaboration", "Email (Exchange Online)",
        "Email outage: Outlook disconnected for all users",
        "Since {time} Outlook shows 'Disconnected' for users at every site; webmail is slow "
        "and mail to external recipients is delayed.",
        ("Service health shows an incident at the provider.",
         "Provider confirms a degraded authentication service in our region.",
         "Provider rolled back the faulty update; mail flowing, backlog draining."),
        "Provider-side outage of the authentication service; resolved by the provider's "
        "rollback. Queued mail delivered.",
        ("Outlook says 'Disconnected'", "Cannot send email", "Email not arriving",
         "Outlook keeps asking for password"),
        "Outlook shows 'Disconnected' on {first}'s laptop; colleagues have the same.",
        "Email",
    ),
    Outage(
        "Network", "LAN", "Network Operations", "Campus LAN",
        "Network outage at {site}",
        "Since {time} the whole {site} office has no network: no internet, no file shares, "
        "no phones.",
        ("Core switch at {site} unreachable; local contact sent to the server room.",
         "Core switch crashed after a power glitch; the standby did not take over.",
         "Switch replaced from spares; configuration restored."),
        "Core switch at {site} failed after a power event and the failover did not work. "
        "Replaced; failover test added to the change.",
        ("No network at my desk", "Wi-Fi not working", "Cannot reach file shares",
         "Desk phone has no dial tone"),
        "{first} at {site} has no network; the whole floor is affected.",
        "LAN",
    ),
    Outage(
        "Network", "VPN", "Network Operations", "Remote access VPN",
        "VPN gateway down - remote users cannot connect",
        "Since {time} no one can connect to the VPN; the client times out.",
        ("Primary VPN gateway not responding; failing over to the secondary.",
         "Licence limit reached on the secondary; extra licences activated.",
         "Primary gateway restored after a reboot; connections balanced."),
        "The primary VPN gateway hung after a certificate renewal. Rebooted; renewal "
        "procedure corrected.",
        ("VPN won't connect", "VPN disconnects every 10 minutes", "Cannot work from home"),
        "{first} works from home and cannot connect to the VPN at all.",
        "VPN",
    ),
    Outage(
        "Storage", "File shares", "Server & Storage", "File server FS01",
        "File server FS01 not responding",
        "Since {time} the shares on FS01 (H: drives and department shares) cannot be opened.",
        ("FS01 hung on a storage path failure.", "Multipathing reset; volumes back.",
         "Consistency checks running."),
        "A failed storage path froze FS01. Path restored, firmware update planned.",
        ("H: drive not accessible", "Cannot open department share", "Explorer hangs on "
         "network drive"),
        "{first} cannot open anything on the H: drive.",
        "File shares",
    ),
    Outage(
        "Software", "Collaboration", "Messaging & Collaboration", "Microsoft Teams",
        "Teams calls dropping company-wide",
        "Since {time} Teams calls and meetings drop after a few minutes for most users.",
        ("Traffic to the media relays goes through the proxy since this morning's change.",
         "Change rolled back; media traffic bypasses the proxy again."),
        "This morning's proxy change sent Teams media through the proxy. Rolled back; the "
        "change process now includes a Teams call test.",
        ("Teams calls drop after a few minutes", "No audio in Teams meetings",
         "Teams meeting keeps reconnecting"),
        "Teams calls drop for {first} and colleagues in {dept}.",
        "Collaboration",
    ),
)


# --- the conversation -------------------------------------------------------------------

GREETING_COMMENTS: tuple[str, ...] = (
    "Hi {first}, thanks for reporting this. I'm looking into it now.",
    "Hi {first}, I've picked this up and will call you shortly.",
    "Hello {first}, we are on it; I'll update you within the hour.",
    "Hi {first}, could you tell me when this started and whether anything changed?",
    "Hi {first}, I have taken this over. Are you available for a remote session today?",
)
GENERIC_NOTES: tuple[str, ...] = (
    "Called {first}, no answer. Left a voicemail.",
    "Remote session with {first}; reproduced the problem.",
    "Checked the event logs around the time reported.",
    "Asked {first} for a screenshot of the error.",
    "Checked the knowledge base; article {kb} matches.",
    "Discussed with a colleague; trying the known fix.",
    "Caller confirms the problem is still there.",
    "Spoke to {first}: happens several times a day.",
)
CALLBACK_NOTES: tuple[str, ...] = (
    "Caller chased for an update.",
    "{first} called to ask about progress.",
    "Caller called back with more details.",
)
ROUTE_BACK_NOTES: tuple[str, ...] = (
    "Not ours: passing to {team}.",
    "Wrong group; {team} owns this service.",
    "Misrouted; {team} handles these.",
)
ESCALATION_NOTES: tuple[str, ...] = (
    "Needs {team}; reassigning with the findings above.",
    "Escalating to {team} as discussed with their lead.",
    "Looks like a {team} issue after all; passing it on.",
)
TRANSFER_NOTES: tuple[str, ...] = (
    "Handing over to a colleague; I'm out tomorrow.",
    "Reassigned within the team to balance the queue.",
    "Colleague has worked on this before; handing over.",
)
HOLD_COMMENTS: dict[HoldReason, tuple[str, ...]] = {
    HoldReason.AWAITING_CALLER: (
        "Hi {first}, please let me know when you are back at your desk so that I can "
        "connect remotely.",
        "Hi {first}, could you send a screenshot of the error message?",
        "Hi {first}, I tried to call you; please call the service desk back.",
    ),
    HoldReason.AWAITING_VENDOR: (
        "Case {case} raised with {vendor}; waiting for their engineer.",
        "Replacement part ordered from {vendor} (case {case}).",
        "Escalated to {vendor} support, case {case}.",
    ),
    HoldReason.AWAITING_CHANGE: (
        "The fix needs change {change}, planned for the next maintenance window.",
        "Waiting for change {change} to be approved by the CAB.",
    ),
}
RESUME_NOTES: dict[HoldReason, tuple[str, ...]] = {
    HoldReason.AWAITING_CALLER: ("Caller replied; continuing.", "{first} is back; remote "
                                 "session booked."),
    HoldReason.AWAITING_VENDOR: ("{vendor} supplied the part; continuing.",
                                 "{vendor} replied on case {case}."),
    HoldReason.AWAITING_CHANGE: ("Change {change} implemented; verifying.",),
}
REOPEN_REASONS: tuple[str, ...] = (
    "Caller reports the problem is back.",
    "{first} says it happened again this morning.",
    "The fix did not survive a restart.",
    "Caller not satisfied: only part of the problem was solved.",
)
ALERT_AGAIN: tuple[str, ...] = (
    "The alert fired again.",
    "Monitoring shows the same error again this morning.",
)
CLOSE_COMMENTS: tuple[str, ...] = (
    "Hi {first}, glad it works again. Closing this ticket.",
    "Caller confirmed the fix; closing.",
    "Thanks {first} for confirming.",
)
CANCEL_NOTES: tuple[str, ...] = (
    "Logged twice by mistake; duplicate of an open ticket.",
    "Caller withdrew the request.",
    "Raised in error: the caller meant to log a service request.",
    "Caller solved it before we started; nothing to do.",
)
CALLER_CLOSED_NOTES: tuple[str, ...] = (
    "Caller says the problem went away by itself.",
    "Caller no longer needs help; resolved on request.",
)
NOT_REPRODUCIBLE_NOTES: tuple[str, ...] = (
    "Could not reproduce during a remote session; caller will report it again if it returns.",
    "No errors found in the logs and the problem did not occur while we watched.",
)
MAJOR_CHILD_NOTES: tuple[str, ...] = (
    "Linked to the major incident {parent}.",
    "Known outage, see {parent}; caller informed.",
)
MAJOR_CHILD_FIX = "Resolved by the fix of major incident {parent}; caller confirmed it works."
TRIED: tuple[str, ...] = (
    "Already restarted the laptop, no change.", "Restarting did not help.",
    "Colleagues nearby have the same problem.", "It worked fine yesterday.",
    "It started after the latest Windows update.", "", "", "",
)
CONTACT: tuple[str, ...] = (
    "Best reached on {phone}.", "Please call back after 2 pm.",
    "Caller is working from home today.", "Caller is in meetings all morning.", "", "",
)

# Fill-ins for the templates; demo.py draws one at random when a template asks for it.
FILL_INS: dict[str, tuple[str, ...]] = {
    "when": ("this morning", "yesterday afternoon", "Monday", "the weekend",
             "the password change", "the last update", "two days ago"),
    "outlook_error": ("0x800CCC0E", "0x8004210B", "0x80040115", "'Server unavailable'"),
    "model": ("Dell Latitude 7440", "Lenovo ThinkPad T14 Gen 4", "HP EliteBook 840 G10",
              "Dell Latitude 5540", "Lenovo ThinkPad X1 Carbon", "MacBook Pro 14"),
    "bsod": ("CRITICAL_PROCESS_DIED", "INACCESSIBLE_BOOT_DEVICE", "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
             "PAGE_FAULT_IN_NONPAGED_AREA"),
    "win_error": ("0x800f0922", "0x80070002", "0x8024a105", "0x80073712"),
    "tcode": ("ME21N", "VA01", "FB60", "MIGO", "MM03", "VL02N", "F-28", "KSB1"),
    "authobj": ("F_BKPF_BUK", "M_BEST_BSA", "V_VBAK_AAT", "S_TCODE"),
    "role": ("Z_FI_AP_CLERK", "Z_MM_BUYER", "Z_SD_ORDER_ENTRY", "Z_FI_DISPLAY"),
    "company": ("1000", "2000", "3100", "4200"),
    "app_server": ("SAPAPP03", "SAPAPP05", "SAPAPP07"),
    "server": ("FS01", "FS02", "APP-LON-07", "DC-LON-01", "WEB-PRD-02", "SQLPRD02"),
    "workbook": ("Budget 2026.xlsx", "Q3 forecast.xlsx", "Price list.xlsx", "Stock count.xlsm",
                 "Headcount plan.xlsx"),
    "document": ("Contract draft.docx", "Board minutes.docx", "Policy update v3.docx",
                 "Tender response.docx"),
    "addin": ("Bloomberg Excel Add-in", "SAP Analysis for Office", "Adobe PDFMaker",
              "Power Pivot"),
    "share": ("\\\\fs01\\finance", "\\\\fs01\\hr$", "\\\\fs02\\projects", "\\\\fs02\\sales",
              "\\\\fs01\\logistics", "\\\\fs02\\engineering"),
    "folder": ("Invoices 2025", "Month end", "Templates", "Customer contracts", "Drawings"),
    "dl": ("DL-All-Staff-London", "DL-Finance-Managers", "DL-Sales-EMEA",
           "DL-Engineering-Updates"),
    "group_name": ("SG-Finance-RW", "SG-Projects-RO", "SG-HR-Confidential", "SG-Sales-RW"),
    "mailbox": ("invoices@", "orders@", "hr-helpdesk@", "sales-emea@"),
    "report": ("Pipeline by region", "Open opportunities", "Won deals this quarter"),
    "expense": ("EXP-20391", "EXP-31822", "EXP-40977", "EXP-51230"),
    "room": ("Oak", "Birch", "Maple", "Cedar", "Willow", "Aspen", "Rowan", "Elm"),
    "ap": ("AP-3F-02", "AP-1F-07", "AP-5F-01", "AP-2F-04"),
    "port": ("3A-14", "2B-07", "4C-22", "1A-03", "5D-11"),
    "switch": ("SW-3F-01", "SW-2F-02", "SW-4F-01"),
    "portal": ("supplier.example.net", "portal.example.org", "orders.example.com"),
    "site_name": ("Finance Hub", "Project Falcon", "HR Policies", "Sales Playbook"),
    "app": ("Notepad++", "7-Zip", "Zoom", "Python", "VLC"),
    "vendor": ("Dell", "HP", "Lenovo", "Cisco", "Microsoft", "SAP", "Canon", "Ricoh"),
    "kb": ("KB0010342", "KB0011873", "KB0012009", "KB0010950"),
}
