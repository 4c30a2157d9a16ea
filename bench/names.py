"""Embedded name lists, by locale, most frequent first.

Embedded rather than Faker: the generator needs the same dataset from the same seed on every
machine and every release, and Faker changes its data between versions; picking from short
ordered lists with a Zipf weight is also ~20x faster than Faker at a million rows, and it gives
the collisions real names have (many "Smith", several "Maria Garcia", one rare "Wojciechowski").
"""

from __future__ import annotations

# (locale, share of the contacts, phone country code, email domains, first names, surnames)
LOCALES = [
    (
        "en_US", 0.34, "1", ["gmail.com", "yahoo.com", "outlook.com", "acme-mail.com"],
        "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
        "Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra "
        "Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol "
        "Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Maria Ana",
        "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
        "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
        "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts O'Brien McDonald Kowalski Wojciechowski",
    ),
    (
        "de_DE", 0.14, "49", ["web.de", "gmx.de", "t-online.de"],
        "Maria Ursula Monika Petra Elisabeth Sabine Renate Helga Karin Brigitte Ingrid Erika Andrea Gisela "
        "Peter Michael Thomas Andreas Wolfgang Klaus Jürgen Günter Stefan Christian Uwe Werner Horst Frank "
        "Dieter Manfred Jörg Lukas Lena Jonas Anna",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
        "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt "
        "Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer Huber "
        "Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert",
    ),
    (
        "fr_FR", 0.12, "33", ["orange.fr", "free.fr", "laposte.net"],
        "Marie Jean Pierre Michel André Philippe René Louis Alain Jacques Bernard Marcel Daniel Roger Paul "
        "Nathalie Isabelle Sylvie Catherine Françoise Monique Nicole Christine Anne Martine Céline Camille "
        "Léa Chloé Hélène Émilie Théo Hugo Lucas",
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel "
        "Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefèvre Mercier Dupont Lambert Bonnet "
        "François Martinez Legrand Garnier Faure Rousseau Blanc Guérin Muller Henry Roussel Nicolas Perrin",
    ),
    (
        "es_ES", 0.12, "34", ["gmail.com", "hotmail.es", "telefonica.net"],
        "María Carmen Josefa Isabel Ana Dolores Pilar Teresa Rosa Francisca Antonio José Manuel Francisco "
        "David Juan Javier Daniel Carlos Jesús Alejandro Miguel Rafael Pedro Ángel Pablo Lucía Sofía Martina",
        "García González Rodríguez Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández "
        "Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez Ramos Gil Ramírez "
        "Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz Rubio Marín Sanz Núñez Iglesias",
    ),
    (
        "it_IT", 0.08, "39", ["libero.it", "virgilio.it", "gmail.com"],
        "Giuseppe Giovanni Antonio Mario Luigi Francesco Angelo Vincenzo Pietro Salvatore Carlo Franco Marco "
        "Maria Anna Giuseppina Rosa Angela Giovanna Teresa Lucia Carmela Francesca Chiara Giulia Sofia",
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti Galli "
        "Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi Caruso Ferrara",
    ),
    (
        "pl_PL", 0.06, "48", ["wp.pl", "onet.pl", "interia.pl"],
        "Anna Maria Katarzyna Małgorzata Agnieszka Barbara Ewa Krystyna Piotr Krzysztof Andrzej Tomasz Paweł "
        "Jan Michał Marcin Stanisław Łukasz Grzegorz Józef",
        "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak Dąbrowski "
        "Kozłowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski Nowakowski Pawłowski Michalski",
    ),
    (
        "vi_VN", 0.05, "84", ["gmail.com", "yahoo.com.vn"],
        "Anh Linh Huong Thao Trang Lan Mai Hoa Minh Tuan Hung Dung Nam Hai Long Duc Quang Thanh",
        "Nguyen Tran Le Pham Hoang Huynh Phan Vu Vo Dang Bui Do Ho Ngo Duong Ly",
    ),
    (
        "zh_CN", 0.05, "86", ["qq.com", "163.com", "gmail.com"],
        "Wei Fang Xiu Ying Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Tao Ming Chao Xia Hui",
        "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Gao Lin Luo",
    ),
    (
        "zh_Hans", 0.01, "86", ["qq.com", "163.com"],
        "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰",
        "王 李 张 刘 陈 杨 黄 赵 吴 周",
    ),
    (
        "ja_JP", 0.03, "81", ["docomo.ne.jp", "gmail.com", "yahoo.co.jp"],
        "Hiroshi Takashi Makoto Kenji Yuki Akira Satoshi Yoko Keiko Tomoko Akiko Naoko Haruto Yui Sakura",
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada Sasaki "
        "Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu",
    ),
]

ORG_SUFFIXES = {
    "en_US": ["Inc.", "LLC", "& Sons", "Group", "Partners", "Holdings", "Consulting", "Logistics", "Labs"],
    "de_DE": ["GmbH", "AG", "KG", "& Co. KG", "Maschinenbau GmbH", "Bau GmbH"],
    "fr_FR": ["SA", "SARL", "et Fils", "SAS", "Conseil"],
    "es_ES": ["S.L.", "S.A.", "y Asociados", "Hermanos S.L."],
    "it_IT": ["S.p.A.", "S.r.l.", "& Figli"],
    "pl_PL": ["Sp. z o.o.", "S.A."],
    "vi_VN": ["Co., Ltd.", "JSC"],
    "zh_CN": ["Co., Ltd.", "Trading Co."],
    "zh_Hans": ["有限公司"],
    "ja_JP": ["K.K.", "Co., Ltd.", "Shoji"],
}

ORG_WORDS = (
    "Acme Global Northern Pacific Atlantic Summit Pioneer Crescent Evergreen Blue River Red Oak Silver Lake "
    "Union Metro Alpine Coastal Sunrise Harbor Granite Prairie Liberty Horizon Vertex Nova Apex Orbit Delta"
).split()

SUBJECTS = [
    "Follow-up call", "Quarterly review", "Invoice question", "Meeting notes", "Intro call", "Renewal",
    "Support request", "Proposal sent", "Contract signed", "Demo", "Price update", "Newsletter", "Thank you",
    "Missed call", "Onboarding", "Feedback", "Site visit", "Delivery delay", "Payment reminder", "Welcome",
]

CONTENT = [
    "", "", "", "Left a voicemail.", "Discussed the renewal terms; send the updated quote by Friday.",
    "Customer asked about delivery times for the next order.", "Agreed on a follow-up next month.",
    "Sent the brochure and the price list.",
]


def split(words: str) -> list[str]:
    return words.split()
